"""The bundled synthetic ward (data/samples): everything ingests, every row is accounted for.

The samples hold transfers, withheld callers, staff and outbound calls, busy retries, one
resident written in several number formats, a re-sent overlapping export, malformed rows, a
stray non-UTF-8 byte, a CP932 PBX export and visits in UTF-8 with BOM and in CP932.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.common.identity import classify_number
from kasuhara_metrics.common.site import SiteSettings

from .conftest import CALL_EXPORTS, SAMPLES, fixture_secret, ingest_sample_ward, rows, scalar

RECORD_PANDAS = Path(__file__).parent / "record_pandas.py"
ASTERISK = sorted((SAMPLES / "asterisk").glob("*.csv"))


@pytest.fixture(scope="module")
def ward(tmp_path_factory):
    from kasuhara_metrics.common.db import connect

    with fixture_secret():
        db = connect(str(tmp_path_factory.mktemp("ward") / "ward.duckdb"))
        reports = ingest_sample_ward(db)
    yield db, [f for r in reports for f in r.files], [e for r in reports for e in r.failures]
    db.close()


def test_every_sample_file_ingests_and_every_row_is_accounted_for(ward):
    db, files, failures = ward
    assert failures == []
    assert len(files) == 1 + len(CALL_EXPORTS) + 1 + 2
    for result in files:
        assert result.rows_read == result.kept + result.rejected + result.duplicates, result
        nonblank = sum(1 for line in open(result.path, "rb").read().splitlines() if line.strip())
        header = {"cucm-cdr": 2, "twilio-csv": 1}.get(result.format, 0)  # CUCM: names and types
        header += 1 if result.kind in ("visits", "departments") or result.format.startswith("mapped") else 0
        assert result.rows_read == nonblank - header, result.path
    assert scalar(db, "SELECT sum(rows_read) - sum(kept + rejected + duplicates) FROM ingest_log") == 0
    assert scalar(db, "SELECT count(*) FROM rejects") == sum(f.rejected for f in files)


def test_each_asterisk_layout_is_recognised(ward):
    _, files, _ = ward
    formats = {f.path.rsplit("/", 1)[1]: f.format for f in files if f.format.startswith("asterisk")}
    assert formats == {
        "Master-branch-16col.csv": "asterisk-cdr_csv-16",
        "Master-17col.csv": "asterisk-cdr_csv-17u",
        "Master-2026-09.csv": "asterisk-cdr_csv-18",
        "Master-2026-10-resent.csv": "asterisk-cdr_csv-18",
        "Master-21col.csv": "asterisk-cdr_csv-21",
        "Master-annex-utc.csv": "asterisk-cdr_csv-18",
        "cdr-custom.csv": "asterisk-cdr_custom-19",
    }


def test_every_other_system_is_recognised_with_its_clock(ward):
    _, files, _ = ward
    found = {f.path.rsplit("/", 1)[1]: (f.format, f.clock.split(" (")[0]) for f in files if f.kind == "calls"}
    assert found["Master-annex-utc.csv"] == ("asterisk-cdr_csv-18", "UTC")  # proven by its uniqueids
    assert found["Master-2026-09.csv"] == ("asterisk-cdr_csv-18", "Asia/Tokyo")
    assert found["Master.csv"] == ("freeswitch-example-15", "Asia/Tokyo")
    assert found["cdr_KuyakushoCluster_01_202609170900_1"] == ("cucm-cdr", "UTC")
    assert found["cdr.log"] == ("3cx-cdr-27", "UTC")
    assert found["ctr-2026-09.jsonl"] == ("amazon-connect-ctr", "UTC")
    assert found["call-log-2026-09.csv"] == ("twilio-csv", "UTC")


def test_callers_that_are_no_number_are_counted_per_file(ward):
    from kasuhara_metrics.desk.analytics import status_counts, unusable_callers

    db, _, _ = ward
    annex = [row for row in unusable_callers(db) if row["path"].endswith("Master-annex-utc.csv")]
    assert [(row["unusable"], row["format"]) for row in annex] == [(6, "asterisk-cdr_csv-18")]
    counts = dict(status_counts(db)[1])
    assert counts["never judged: contacts of callers that are no valid number"] >= 6
    assert counts[f"  calls in {SAMPLES / 'asterisk' / 'Master-annex-utc.csv'}"] == 6

    # the per-file counts are those of the plain form (distinct calls per path), by file and by time too
    plain = """
        SELECT i.path, i.format, count(DISTINCT l.call_ref) AS calls,
               count(DISTINCT l.call_ref) FILTER (WHERE l.caller_class = 'unusable') AS unusable
        FROM call_legs l JOIN ingest_log i USING (file_id)
        WHERE (CAST($file_ids AS BIGINT[]) IS NULL OR list_contains($file_ids, l.file_id))
          AND l.started_at >= coalesce($start, '-infinity'::TIMESTAMPTZ)
          AND l.started_at < coalesce($end, 'infinity'::TIMESTAMPTZ)
        GROUP BY ALL HAVING unusable > 0 ORDER BY unusable DESC, i.path
    """
    annex_id, first, last = db.con.execute(
        "SELECT file_id, min(l.started_at), max(l.started_at) FROM call_legs l JOIN ingest_log USING (file_id) "
        "WHERE path LIKE '%Master-annex-utc.csv' GROUP BY file_id"
    ).fetchall()[0]
    some_files = [annex_id, annex_id + 1, annex_id + 2]
    # half of the annex's calls by time
    span = (first, first + (last - first) / 2)
    for file_ids, (start, end) in ((None, (None, None)), (some_files, (None, None)), (None, span)):
        expected = db.con.execute(plain, {"file_ids": file_ids, "start": start, "end": end}).fetchall()
        got = unusable_callers(db, file_ids=file_ids, start=start, end=end)
        assert expected and [tuple(row.values()) for row in got] == expected


def test_the_resent_export_adds_only_what_september_did_not_have(ward):
    _, files, _ = ward

    def keys(name):
        # A record is the same whatever its caller's display name says.
        with open(SAMPLES / "asterisk" / name, encoding="utf-8", errors="replace", newline="") as handle:
            return [tuple(f for i, f in enumerate(row) if i != 4) for row in csv.reader(handle) if len(row) == 18]

    september = set(keys("Master-2026-09.csv"))
    resent = keys("Master-2026-10-resent.csv")
    result = next(f for f in files if f.path.endswith("Master-2026-10-resent.csv"))
    assert result.duplicates == sum(1 for k in resent if k in september) > 50
    assert result.kept == sum(1 for k in resent if k not in september) > 0


def test_the_damaged_september_file_keeps_good_rows_and_rejects_the_bad_ones(ward):
    db, files, _ = ward
    result = next(f for f in files if f.path.endswith("Master-2026-09.csv"))
    assert result.rejected == 4 and "undecodable bytes replaced" in "; ".join(result.notes)
    reasons = [r[0] for r in rows(db, "SELECT reason FROM rejects WHERE path LIKE '%Master-2026-09.csv' ORDER BY line")]
    assert reasons[0].startswith("start time '9999-99-99 99:99:99' is not a date")
    assert reasons[1].startswith("has 6 fields")
    assert reasons[2].startswith("unbalanced quotes")
    assert reasons[3] == "record has no values"


def test_withheld_staff_and_outbound_calls_never_make_a_requester(ward):
    db, _, _ = ward
    assert scalar(db, "SELECT count(*) FROM contacts WHERE caller_class = 'withheld'") > 30
    assert scalar(db, "SELECT count(*) FROM contacts WHERE direction IN ('internal', 'outbound')") > 20
    assert (
        scalar(
            db,
            """SELECT count(*) FROM contacts
                         WHERE requester_key IS NOT NULL AND (caller_class IN ('withheld', 'internal', 'unusable')
                               OR direction IN ('internal', 'outbound'))""",
        )
        == 0
    )
    notes = {r[0] for r in rows(db, "SELECT DISTINCT caller_note FROM call_legs WHERE caller_class = 'withheld'")}
    assert {"empty", "非通知", "公衆電話", "anonymous", "表示圏外"} <= notes


def test_transfers_are_one_contact_ending_in_the_final_department(ward):
    db, _, _ = ward
    transfers = rows(
        db,
        "SELECT department, legs FROM contacts WHERE channel = 'call' AND legs = 2 AND requester_key IS NOT NULL "
        "AND contact_id IN (SELECT 'call:' || call_ref FROM call_legs WHERE source_format LIKE 'asterisk%')",
    )
    assert len(transfers) == 6 and {d for d, _ in transfers} == {"税務課"}  # 3 with a shared uniqueid, 3 without ids


def test_one_resident_in_several_written_forms_is_one_requester(ward):
    db, _, _ = ward
    site = SiteSettings()
    path = SAMPLES / "asterisk" / "Master-2026-09.csv"
    by_number: dict[str, dict[str, list[int]]] = {}
    for line, text in enumerate(path.read_bytes().decode("utf-8", errors="replace").splitlines(), start=1):
        fields = next(csv.reader([text]))
        if len(fields) != 18 or not fields[1]:
            continue
        canonical = classify_number(fields[1], site).canonical
        form = "plain" if fields[1].isdigit() else "formatted"
        by_number.setdefault(canonical, {}).setdefault(form, []).append(line)
    both = {n: forms for n, forms in by_number.items() if len(forms) == 2}
    assert len(both) >= 1
    file_id = scalar(db, "SELECT file_id FROM ingest_log WHERE path LIKE '%Master-2026-09.csv'")
    for forms in both.values():
        lines = forms["plain"] + forms["formatted"]
        keys = rows(
            db,
            "SELECT DISTINCT caller_key FROM call_legs WHERE file_id = ? AND list_contains(?, line)",
            [file_id, lines],
        )
        assert len(keys) == 1 and keys[0][0].startswith("R")
    assert scalar(db, "SELECT count(*) FROM requesters WHERE calls > 0 AND visits > 0") >= 1, (
        "seen by phone and at the counter"
    )
    # The same resident in the October PBX export, written 090-1000-0010: the same requester.
    formats = rows(
        db,
        """SELECT DISTINCT source_format FROM calls WHERE requester_key =
                          (SELECT requester_key FROM calls WHERE file_id = ? AND line = ?)""",
        [file_id, both[next(iter(both))]["plain"][0]],
    )
    assert {f for (f,) in formats} == {"asterisk-cdr_csv-18", "mapped:pbx-example"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`make demo`'s script run twice into a folder of the test's own, as a newcomer runs it: no
    KASUHARA_ setting, so the demo pseudonymises with its fixed demo secret. Each command records
    any import of pandas it attempts (tests/record_pandas.py)."""
    folder = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASUHARA_")}
    env["KASUHARA_BIN"] = f"{sys.executable} {RECORD_PANDAS} {folder / 'pandas.log'}"
    script = SAMPLES.parent.parent / "scripts" / "demo.sh"
    db, reports = str(folder / "kasuhara.duckdb"), str(folder / "reports")
    runs = [
        subprocess.run(["bash", str(script), db, reports], capture_output=True, text=True, env=env, timeout=300)
        for _ in range(2)
    ]
    return folder, db, runs


def test_the_demo_script_runs_and_skips_what_it_already_ingested(demo):
    folder, _, (first, second) = demo
    assert first.returncode == 0, first.stderr
    assert "rows read" in first.stdout and "18 flags are current" in first.stdout and " explain R" in first.stdout
    assert (folder / "reports" / "kasuhara-report-2026-W38.html").exists()  # not the checkout's reports/
    # the second ward on the same install: its own database beside the first, its own report
    assert "setagaya 2026.12" in first.stdout and "6 flags are current" in first.stdout
    assert (folder / "kasuhara-setagaya.duckdb").exists()
    assert (folder / "reports" / "setagaya" / "kasuhara-report-2026-W38.html").exists()
    assert second.returncode == 0 and second.stdout.count("already ingested") == 16 + 3


def test_no_command_of_the_demo_imports_pandas(demo):
    """pyarrow imports pandas on the first Python value a process converts (0.2-0.3 s of every
    command); kasuhara_metrics/common/arrays.py builds them without. Every format, both wards."""
    folder, _, (first, _) = demo
    assert first.returncode == 0, first.stderr
    log = folder / "pandas.log"
    assert not log.exists(), log.read_text(encoding="utf-8")


def test_the_readme_examples_name_the_demos_own_ids(demo):
    """`make demo` on a fresh clone pseudonymises with its fixed demo secret: the README's example
    requester and flag are ones a newcomer's demo shows."""
    _, db, (first, _) = demo
    assert first.returncode == 0, first.stderr
    readme = (SAMPLES.parent.parent / "README.md").read_text(encoding="utf-8")
    (requester,) = set(re.findall(r"kasuhara explain (R[0-9a-f]{16})", readme))
    (flag,) = set(re.findall(r"kasuhara review (F[0-9a-f]{16})", readme))
    assert f"explain {requester}" in first.stdout  # the one the demo itself suggests
    with fixture_secret(), connect(db, read_only=True) as database:
        assert scalar(database, "SELECT count(*) FROM flags WHERE flag_id = ?", [flag]) == 1
