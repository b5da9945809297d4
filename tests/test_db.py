"""common/db.py: schema version and migrations, read-only access, one writer at a time."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from kasuhara_metrics.common.db import SCHEMA_VERSION, connect, schema_version
from kasuhara_metrics.common.errors import DatabaseBusy, DatabaseError


def test_a_new_database_is_created_at_the_current_schema(db_path):
    with connect(db_path) as db:
        assert schema_version(db.con) == SCHEMA_VERSION
    with connect(db_path) as db:  # opening again applies nothing twice
        assert db.con.execute("SELECT count(*) FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_reading_a_missing_database_says_what_to_do(tmp_path):
    with pytest.raises(DatabaseError, match="does not exist - ingest some files first"):
        connect(str(tmp_path / "none.duckdb"), read_only=True)


def test_a_database_from_a_newer_release_is_refused(db_path):
    with connect(db_path) as db:
        db.con.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 1])
    with pytest.raises(DatabaseError, match="newer than this kasuhara understands"):
        connect(db_path)
    with pytest.raises(DatabaseError, match="newer than this kasuhara understands"):
        connect(db_path, read_only=True)


def test_an_older_database_is_upgraded_in_place(db_path, monkeypatch):
    from kasuhara_metrics.common import db as db_module

    extra = "CREATE TABLE upgrade_marker (x INTEGER); INSERT INTO upgrade_marker VALUES (42);"
    with connect(db_path) as db:
        db.con.execute("CREATE TABLE keep_me AS SELECT 7 AS x")
    monkeypatch.setattr(db_module, "MIGRATIONS", db_module.MIGRATIONS + [extra])
    monkeypatch.setattr(db_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(DatabaseError, match="run any ingest command"):
        connect(db_path, read_only=True)
    with connect(db_path) as db:
        assert db.con.execute("SELECT * FROM upgrade_marker").fetchall() == [(42,)]
        assert db.con.execute("SELECT * FROM keep_me").fetchall() == [(7,)]
        assert schema_version(db.con) == SCHEMA_VERSION + 1


def test_flags_judged_before_department_overrides_keep_their_rows_on_upgrade(db_path, monkeypatch):
    """Schema 10 adds threshold_override to flags: a flag stored at schema 9 shows it as NULL."""
    from kasuhara_metrics.common import db as db_module

    with monkeypatch.context() as schema_9:
        schema_9.setattr(db_module, "MIGRATIONS", db_module.MIGRATIONS[:9])
        schema_9.setattr(db_module, "SCHEMA_VERSION", 9)
        with connect(db_path) as db:
            db.con.execute("""
            INSERT INTO flag_rows VALUES ('F0123456789abcdef', 1, 'R0123456789abcdef', 'long_call', 'h', 'bunkyo',
                '2026.11', '拘束', '長時間にわたる電話', 'watch', NULL, TIMESTAMPTZ '2026-09-01 10:00+09',
                TIMESTAMPTZ '2026-09-01 10:40+09', 40, 30, 'minutes', '40 minutes', 1, ['1788220817.572'])
        """)
    with connect(db_path) as db:
        assert schema_version(db.con) == SCHEMA_VERSION
        assert db.con.execute("SELECT flag_id, threshold_override, review_status FROM flags").fetchall() == [
            ("F0123456789abcdef", None, "unreviewed")
        ]


def test_flags_stored_with_their_evidence_list_show_the_same_list_on_upgrade(db_path, monkeypatch):
    """Schema 12 drops the list stored with each flag: the flags view makes it from the evidence rows,
    in order of start (a forked call's ids together), as the judge made the stored one."""
    from kasuhara_metrics.common import db as db_module

    stored_list = ["1788220000.1", "1788220000.2", "V-77", "1788229000.9"]
    with monkeypatch.context() as schema_11:
        schema_11.setattr(db_module, "MIGRATIONS", db_module.MIGRATIONS[:11])
        schema_11.setattr(db_module, "SCHEMA_VERSION", 11)
        with connect(db_path) as db:
            db.con.execute(
                """
            INSERT INTO flag_rows VALUES ('F0123456789abcdef', 1, 'R0123456789abcdef', 'frequent_calls', 'h',
                'bunkyo', '2026.11', '繰り返し', '執拗な繰り返し', 'watch', NULL, TIMESTAMPTZ '2026-09-01 10:00+09',
                TIMESTAMPTZ '2026-09-03 10:40+09', 3, 3, 'contacts', '3 contacts', 3, $stored_list, NULL)
            """,
                {"stored_list": stored_list},
            )
            # its rows as the judge wrote them, not in order of start
            for contact, day, ids in (
                ("call:c", 3, ["1788229000.9"]),
                ("call:a", 1, stored_list[:2]),
                ("visit:b", 2, ["V-77"]),
            ):
                db.con.execute(
                    "INSERT INTO flag_evidence_rows (flag_id, contact_id, channel, started_at, talk_s, source_ids) "
                    "VALUES ('F0123456789abcdef', ?, 'call', TIMESTAMPTZ '2026-09-01 10:00+09' + to_days(?), 60, ?)",
                    [contact, day - 1, ids],
                )
    with connect(db_path) as db:
        assert schema_version(db.con) == SCHEMA_VERSION
        assert "evidence" not in {row[0] for row in db.con.execute("DESCRIBE flag_rows").fetchall()}
        assert db.con.execute("SELECT evidence, contacts, review_status FROM flags").fetchall() == [
            (stored_list, 3, "unreviewed")
        ]
        # a flag without evidence rows shows an empty list, never NULL
        db.con.execute(
            "INSERT INTO flag_rows BY NAME SELECT * EXCLUDE (evidence, review_status, reviewed_by, reviewed_at, "
            "has_review_note, needs_review) REPLACE ('F1111111111111111' AS flag_id, 0 AS contacts) FROM flags"
        )
        assert db.con.execute("SELECT evidence FROM flags WHERE flag_id = 'F1111111111111111'").fetchall() == [([],)]


def test_stored_hits_get_the_flag_they_lie_in_on_upgrade(db_path, monkeypatch):
    """Schema 13 names each stored hit's flag: the one of its requester, rule and group whose span holds
    its start. A hit in no stored flag gets none, and a night leaves it out, as it did before."""
    from kasuhara_metrics.common import db as db_module

    with monkeypatch.context() as schema_12:
        schema_12.setattr(db_module, "MIGRATIONS", db_module.MIGRATIONS[:12])
        schema_12.setattr(db_module, "SCHEMA_VERSION", 12)
        with connect(db_path) as db:
            for flag_id, group, first, last in (
                ("F1", None, "2026-09-01 10:00+09", "2026-09-03 10:00+09"),
                ("F2", None, "2026-09-10 10:00+09", "2026-09-11 10:00+09"),
                ("F3", "住民税", "2026-09-01 10:00+09", "2026-09-20 10:00+09"),
            ):
                db.con.execute(
                    "INSERT INTO flag_rows (flag_id, run_id, requester_key, rule_id, rule_hash, profile_name, "
                    "profile_version, category, behaviour, severity, group_key, first_at, last_at, value, threshold, "
                    "unit, detail, contacts) VALUES (?, 1, 'Rone', 'same_topic', '', '', '', '', '', 'watch', ?, "
                    "CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ), 3, 3, '', '', 0)",
                    [flag_id, group, first, last],
                )
            for group, start in (
                (None, "2026-09-01 10:00+09"),
                (None, "2026-09-02 10:00+09"),
                (None, "2026-09-10 12:00+09"),
                (None, "2026-09-05 10:00+09"),  # between two flags: in none
                ("住民税", "2026-09-02 10:00+09"),
            ):
                db.con.execute(
                    "INSERT INTO rule_hits VALUES ('same_topic', 'Rone', ?, CAST(? AS TIMESTAMPTZ), "
                    "CAST(? AS TIMESTAMPTZ) + INTERVAL 1 HOUR, 3, 'watch', 3, NULL)",
                    [group, start, start],
                )
    with connect(db_path) as db:
        assert schema_version(db.con) == SCHEMA_VERSION
        assert db.con.execute(
            "SELECT group_key, strftime(timezone('Asia/Tokyo', window_start), '%m-%d'), flag_id FROM rule_hits "
            "ORDER BY ALL"
        ).fetchall() == [
            ("住民税", "09-02", "F3"),
            (None, "09-01", "F1"),
            (None, "09-02", "F1"),
            (None, "09-05", None),
            (None, "09-10", "F2"),
        ]


def test_a_second_writer_process_is_told_the_database_is_busy(db_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({db_path!r}); print('ready', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(DatabaseBusy, match="in use by another process"):
            connect(db_path)
    finally:
        holder.kill()
        holder.wait()


def test_read_only_connections_cannot_write(db_path):
    connect(db_path).close()
    with connect(db_path, read_only=True) as db:
        with pytest.raises(duckdb.Error):
            db.con.execute("DELETE FROM ingest_log")


def test_find_database_prefers_the_environment_then_the_nearest_folder_above(tmp_path, monkeypatch):
    from kasuhara_metrics.common.db import find_database

    deep = tmp_path / "ward" / "notebooks" / "drafts"
    deep.mkdir(parents=True)
    monkeypatch.delenv("KASUHARA_DB", raising=False)
    (tmp_path / "kasuhara.duckdb").write_bytes(b"")
    (tmp_path / "ward" / "kasuhara.duckdb").write_bytes(b"")
    assert find_database(deep) == str(tmp_path / "ward" / "kasuhara.duckdb")
    monkeypatch.setenv("KASUHARA_DB", "/elsewhere/w.duckdb")
    assert find_database(deep) == "/elsewhere/w.duckdb"


def test_find_database_names_the_fix_when_there_is_none(tmp_path, monkeypatch):
    from kasuhara_metrics.common import db as db_module

    monkeypatch.delenv("KASUHARA_DB", raising=False)
    # A name no folder above the test's holds, and no checkout beside the package (an installed wheel).
    monkeypatch.setattr(db_module, "DEFAULT_DB", f"kasuhara-{tmp_path.name}.duckdb")
    monkeypatch.setattr(db_module, "__file__", str(tmp_path / "site" / "kasuhara_metrics" / "common" / "db.py"))
    with pytest.raises(DatabaseError, match="set KASUHARA_DB"):
        db_module.find_database(tmp_path)
