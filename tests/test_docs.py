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


def _documented_views() -> list[str]:
    headings = re.findall(r"^## (.+)$", (ROOT / "docs" / "views.md").read_text(encoding="utf-8"), flags=re.M)
    return [name for heading in headings for name in re.findall(r"`(\w+)`", heading.split(":")[0])]


def test_every_documented_view_exists_and_query_help_names_it(db):
    from click.testing import CliRunner

    from kasuhara_metrics.cli import main

    views = _documented_views()
    assert {"calls", "visits", "contacts", "flags", "flag_evidence", "reviews", "runs", "judge_runs"} <= set(views)
    help_text = CliRunner().invoke(main, ["query", "--help"]).output
    for view in views:
        db.con.execute(f"SELECT * FROM {view} LIMIT 0")
        assert re.search(rf"\b{view}\b", help_text), f"`kasuhara query --help` does not name the view {view}"


def test_the_readme_exit_codes_are_the_ones_the_cli_uses():
    from kasuhara_metrics.common.outcomes import EXIT_CODES

    table = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = table.split("### Exit codes", 1)[1].split("\n### ", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert documented == set(EXIT_CODES.values())


def test_thresholds_readme_names_every_shipped_profile_and_its_rules():
    from kasuhara_metrics.rules import load_profile

    readme = (ROOT / "thresholds" / "README.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "thresholds").glob("*.toml")):
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{path.name}`")), None)
        assert row, f"thresholds/README.md does not list {path.name}"
        listed = re.findall(r"`(\w+)`", row.split("|")[3])
        assert listed == [rule.id for rule in load_profile(path).rules], f"rules of {path.name} in the README"
