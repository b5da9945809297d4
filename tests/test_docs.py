"""The documentation matches the code: the CLI reference is the commands' own --help."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _reference_module():
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_reference_is_up_to_date():
    module = _reference_module()
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == module.render(), (
        "docs/cli.md is out of date - run: python scripts/cli_reference.py"
    )


def test_every_documented_view_exists(db):
    documented = (ROOT / "docs" / "views.md").read_text(encoding="utf-8")
    for view in ("calls", "visits", "contacts", "requesters", "rejects", "ingest_log", "flags", "flag_evidence"):
        assert f"`{view}`" in documented
        db.con.execute(f"SELECT * FROM {view} LIMIT 0")


def test_the_readme_exit_codes_are_the_ones_the_cli_uses():
    from kasuhara_metrics.common.outcomes import EXIT_CODES

    table = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = table.split("### Exit codes", 1)[1].split("\n### ", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert documented == set(EXIT_CODES.values())
