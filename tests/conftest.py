"""Shared fixtures: a fresh database per test, a fixed pseudonym secret, file helpers."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.ingest import IngestOptions, ingest_files

FILES = Path(__file__).parent / "files"
SAMPLES = Path(__file__).parent.parent / "data" / "samples"
TEST_SECRET = "test-secret-0123456789abcdef0123456789"
# Every sample call export a built-in reader recognises by its content: Asterisk, FreeSWITCH, CUCM,
# 3CX, Amazon Connect, Twilio (the CP932 PBX export needs its mapping).
OTHER_SYSTEMS = ("freeswitch", "cucm", "3cx", "amazon_connect", "twilio")
CALL_EXPORTS = sorted((SAMPLES / "asterisk").glob("*.csv")) + sorted(
    path for system in OTHER_SYSTEMS for path in (SAMPLES / system).iterdir()
)


# Hypothesis keeps what it stores (examples found, caches) in the install area, not in the checkout.
set_hypothesis_home_dir(Path(__file__).resolve().parents[1] / ".venv" / "cache" / "hypothesis")
# A property test checks results, not time: on a shared 2-core machine one example can stall past
# Hypothesis's 200 ms deadline (a conversion test failed so once), which would turn CI red at random.
settings.register_profile("kasuhara", deadline=None)
settings.load_profile("kasuhara")


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv("KASUHARA_SECRET", TEST_SECRET)
    for name in ("KASUHARA_DB", "KASUHARA_SITE", "KASUHARA_TZ", "KASUHARA_SECRET_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db_path(tmp_path) -> str:
    return str(tmp_path / "test.duckdb")


@pytest.fixture
def db(db_path):
    database = connect(db_path)
    yield database
    database.close()


@contextmanager
def fixture_secret():
    """The test secret for module-scoped fixtures, which run outside the per-test monkeypatch."""
    before = os.environ.get("KASUHARA_SECRET")
    os.environ["KASUHARA_SECRET"] = TEST_SECRET
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("KASUHARA_SECRET", None)
        else:
            os.environ["KASUHARA_SECRET"] = before


def ingest_sample_ward(db) -> list:
    """Ingest every bundled sample (departments, Asterisk, the mapped PBX export, visits) into `db`."""
    from kasuhara_metrics.ingest.sources.mapped import load_mapping

    mapping = load_mapping(SAMPLES / "mapping-example.toml")
    batches = (
        ("departments", [SAMPLES / "departments.csv"], IngestOptions()),
        ("calls", CALL_EXPORTS, IngestOptions()),
        ("calls", [SAMPLES / "pbx" / "calls-cp932.csv"], IngestOptions(mapping=mapping)),
        ("visits", sorted((SAMPLES / "visits").glob("*.csv")), IngestOptions()),
    )
    return [ingest_files(db, kind, [str(p) for p in paths], options) for kind, paths, options in batches]


def ingest(db, kind: str, *paths, **options):
    """Ingest files and fail the test on any file-level error."""
    report = ingest_files(db, kind, [str(p) for p in paths], IngestOptions(**options))
    assert not report.failures, [str(f) for f in report.failures]
    return report


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def rows(db, sql: str, params=None) -> list[tuple]:
    return db.con.execute(sql, params or []).fetchall()


def scalar(db, sql: str, params=None):
    return db.con.execute(sql, params or []).fetchall()[0][0]


@pytest.fixture
def judged_ward(tmp_path):
    """The bundled samples ingested and judged into a database of the test's own, and a CLI on it."""
    from click.testing import CliRunner

    from kasuhara_metrics.cli import main
    from kasuhara_metrics.judge import judge
    from kasuhara_metrics.rules import load_profile

    db_path = str(tmp_path / "ward.duckdb")
    with connect(db_path) as db:
        ingest_sample_ward(db)
        judge(db, load_profile())
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["--db", db_path, *args], catch_exceptions=False)

    return db_path, invoke
