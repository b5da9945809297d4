"""The Spark judge gives the DuckDB judge's flags, byte for byte, and its evidence, row for row.

Each test judges the same contacts twice: DuckDB over the database, then `kasuhara export`, then
Spark (local mode, one session for the module) over the exported Parquet; the two flags.parquet
files must be the same bytes. The sets: the bundled samples (Bunkyo's profile), the Setagaya
samples (its profile: department overrides, the business calendar), a synthetic ward, two shards
of the samples exported in buckets, and random histories for every rule kind. The translation's
rewrites are tested on their own in tests/test_spark_dialect.py, spark-submit in
tests/test_spark_submit.py.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kasuhara_metrics.cli import main
from kasuhara_metrics.common.db import connect
from kasuhara_metrics.common.errors import DatabaseError, KasuharaError
from kasuhara_metrics.desk.export import export_parquet
from kasuhara_metrics.ingest import IngestOptions, ingest_files
from kasuhara_metrics.ingest.sources.mapped import load_mapping
from kasuhara_metrics.judge import judge
from kasuhara_metrics.judge.spark.dialect import to_spark
from kasuhara_metrics.rules import RULE_KINDS, load_profile
from kasuhara_metrics.synth import synthesize

from . import test_rules_property as histories
from .conftest import CALL_EXPORTS, SAMPLES, fixture_secret, ingest_sample_ward

ROOT = Path(__file__).resolve().parents[1]
needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17+ (`make java` installs it)")


# -- the same flags on Spark --------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark():
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17+ (`make java` installs it)")
    from kasuhara_metrics.judge.spark import spark_session

    session = spark_session("local[2]", {"spark.sql.shuffle.partitions": "2"})
    yield session
    session.stop()


@needs_java
def test_a_flags_value_reads_the_same_from_both_engines(spark):
    """Rounding to one place (34.65 is 34.6499... in binary) and numbers as text, as flag details show them."""
    from kasuhara_metrics.judge.store import _VALUE_TEXT

    values = [34.65, 1.005, 0.15, 2.675, 34.75, 34.85, 12.0, 0.05, 0.95, 123456.75, 1 / 3, 2 / 3, 1e-7, 9999999.96]
    values += [minutes / 60 for minutes in range(0, 6000, 7)]  # talk seconds in minutes, as values are
    select = f"SELECT {_VALUE_TEXT} AS text FROM (SELECT unnest($values) AS value) e ORDER BY e.value"
    duck = [row[0] for row in duckdb.execute(select.replace("$values", "?"), [values]).fetchall()]
    on_spark = [row[0] for row in spark.sql(to_spark(select, {"values": values})).collect()]
    assert on_spark == duck
    # half up from the value as written, whole numbers without ".0"
    pinned = f"SELECT {_VALUE_TEXT} FROM (SELECT unnest(?) AS value) e"
    texts = [row[0] for row in duckdb.execute(pinned, [[0.15, 34.65, 12.04, 0.96, 12.0, 1 / 3, 9999999.96]]).fetchall()]
    assert texts == ["0.2", "34.7", "12", "1", "12", "0.3", "10000000"]


@needs_java
def test_topics_fold_the_same_white_space_and_case_in_both_engines(spark):
    from kasuhara_metrics.judge.prepare import topic_key_sql

    topics = ["住民税", " 住民税 ", "住民税\t", "住\n\n民税", "住民税\x0b", "\u3000住民税", "住民\u3000 税", "ＡＢＣ"]
    topics += ["Ａbc \r\f DEF", "\u00a0", " ", ""]
    select = f"SELECT t, {topic_key_sql('t')} FROM (SELECT unnest($topics) AS t) ORDER BY t"
    duck = duckdb.execute(select.replace("$topics", "?"), [topics]).fetchall()
    on_spark = [tuple(row) for row in spark.sql(to_spark(select, {"topics": topics})).collect()]
    assert on_spark == duck
    assert ("住\n\n民税", "住 民税") in duck and ("住民\u3000 税", "住民 税") in duck
    assert ("住民税\x0b", "住民税\x0b") in duck  # a vertical tab is no white space here, in either engine


def judge_on_spark(spark, profile, sources: list, out: Path, as_of: date | None = None):
    from kasuhara_metrics.judge.spark import judge_parquet

    return judge_parquet(spark, profile, sources, out, as_of=as_of)


def assert_same_flags(exported: Path, judged: Path) -> int:
    """The DuckDB judge's export and the Spark judge's output agree; the number of flags."""
    ours = pq.read_table(exported / "flags.parquet")
    theirs = pq.read_table(judged / "flags.parquet")
    assert theirs.schema == ours.schema
    assert theirs.to_pylist() == ours.to_pylist()
    assert (judged / "flags.parquet").read_bytes() == (exported / "flags.parquet").read_bytes()
    con = duckdb.connect()
    order = "ORDER BY flag_id, started_at, contact_id"
    evidence = [
        con.sql(f"SELECT * FROM read_parquet('{path}') {order}")
        for path in (exported / "flag_evidence.parquet", judged / "flag_evidence" / "*.parquet")
    ]
    assert evidence[1].types == evidence[0].types and evidence[1].columns == evidence[0].columns
    assert evidence[1].fetchall() == evidence[0].fetchall()
    return ours.num_rows


def judged_and_exported(db, profile, out: Path, as_of: date | None = None) -> Path:
    judge(db, profile, as_of=as_of)
    export_parquet(db, out)
    return out


@needs_java
def test_the_samples_give_the_same_flags_on_spark_through_the_command_line(spark, tmp_path):
    db_path = str(tmp_path / "ward.duckdb")
    with fixture_secret(), connect(db_path) as db:
        ingest_sample_ward(db)
    runner = CliRunner()
    for command in (["judge"], ["export", "--out", str(tmp_path / "export")]):
        result = runner.invoke(main, ["--db", db_path, *command], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    out = tmp_path / "judged"
    command = ["judge", "--engine", "spark", "--from", str(tmp_path / "export"), "--out", str(out)]
    result = runner.invoke(main, [*command, "--spark-master", "local[2]"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    flags = assert_same_flags(tmp_path / "export", out)
    assert flags >= 15  # every planted case of the samples
    assert f"{flags} flags" in result.output and "on Spark" in result.output
    run = (out / "judge_run.json").read_text(encoding="utf-8")
    assert '"engine": "spark"' in run and load_profile().content_hash in run
    # the output folder reads as a database: the same flags listed, the same weekly report
    with connect(db_path, read_only=True) as db:
        flagged = db.con.execute("SELECT requester_key FROM flags ORDER BY contacts DESC LIMIT 1").fetchall()[0][0]
    for command in (
        ["flags", "--format", "csv"],
        ["explain", flagged],
        ["query", "SELECT rule_id, count(*) FROM flags GROUP BY ALL ORDER BY ALL"],
    ):
        from_db = runner.invoke(main, ["--db", db_path, *command], catch_exceptions=False)
        from_spark = runner.invoke(main, ["--db", str(out), *command], catch_exceptions=False)
        assert from_spark.exit_code == 0 and from_spark.output == from_db.output, command
    reports = [
        runner.invoke(main, ["--db", source, "report", "--week", "latest", "--out", str(tmp_path / name)])
        for source, name in ((db_path, "report-db"), (str(out), "report-spark"))
    ]
    assert reports[1].exit_code == 0, reports[1].output
    assert reports[1].output.splitlines()[0] == reports[0].output.splitlines()[0]  # "2026-W..: N flags (...)"
    refused = runner.invoke(main, ["--db", str(out), "ingest", "departments", str(SAMPLES / "departments.csv")])
    assert refused.exit_code != 0 and "output of a Spark judge run" in refused.output
    assert not (tmp_path / "judged.lock").exists()
    # and the analysts' notebook runs on it, its what-if included
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(ROOT / "notebooks" / "analyst.ipynb", as_version=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KASUHARA_DB", str(out))
        NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    printed = "".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        for o in cell.get("outputs", [])
    )
    assert f"database: {out}" in printed and "immediate_redial" in printed


@needs_java
def test_the_setagaya_samples_give_the_same_flags_with_overrides_and_the_calendar(spark, tmp_path):
    from kasuhara_metrics.common.site import resolve_site

    from .test_profiles import SETAGAYA, SETAGAYA_SAMPLES, SITE_FILE

    profile = load_profile(SETAGAYA)
    profile = replace(profile, site=resolve_site(profile.site, str(SITE_FILE), None))
    with fixture_secret(), connect(str(tmp_path / "setagaya.duckdb"), timezone=profile.site.timezone) as db:
        for kind, pattern in (
            ("departments", "departments.csv"),
            ("calls", "asterisk/*.csv"),
            ("visits", "visits/*.csv"),
        ):
            paths = [str(p) for p in sorted(SETAGAYA_SAMPLES.glob(pattern))]
            assert not ingest_files(db, kind, paths, IngestOptions(site=profile.site)).failures
        exported = judged_and_exported(db, profile, tmp_path / "export")
        kinds = {row[0] for row in db.con.execute("SELECT DISTINCT rule_id FROM flags").fetchall()}
        overridden = db.con.execute("SELECT count(*) FROM flags WHERE threshold_override IS NOT NULL").fetchall()
    report, _ = judge_on_spark(spark, profile, [exported], tmp_path / "judged")
    assert assert_same_flags(exported, tmp_path / "judged") == report.flags
    assert {"off_hours_contacts", "off_hours_attempts"} <= kinds and overridden[0][0] >= 1


@needs_java
def test_a_synthetic_ward_gives_the_same_flags_as_of_a_day(spark, tmp_path):
    """Six weeks, judged as of the fifth week's Wednesday (contacts after its end in site time wait)."""
    as_of = date(2026, 10, 7)
    inbox = tmp_path / "inbox"
    synthesize(6000, inbox, days=42, start=date(2026, 9, 1), seed=7)
    with fixture_secret(), connect(str(tmp_path / "synth.duckdb")) as db:
        for kind, paths in (
            ("departments", [inbox / "departments.csv"]),
            ("calls", sorted((inbox / "calls").iterdir())),
            ("visits", sorted((inbox / "visits").iterdir())),
        ):
            assert not ingest_files(db, kind, [str(p) for p in paths], IngestOptions()).failures
        exported = judged_and_exported(db, load_profile(), tmp_path / "export", as_of)
        (judged,) = db.con.execute("SELECT contacts_judged FROM judge_runs").fetchall()[0]
        later = db.con.execute("SELECT count(*) FROM contacts WHERE started_at >= '2026-10-08 00:00+09'").fetchall()
    assert later[0][0] > 0
    # named as a URI, as a cluster names its data lake (hdfs://, s3a://): Spark reads it, not Python
    source = f"file://{exported / 'contacts.parquet'}"
    report, _ = judge_on_spark(spark, load_profile(), [source], tmp_path / "judged", as_of)
    assert report.contacts_judged == judged
    assert assert_same_flags(exported, tmp_path / "judged") >= 10
    with pytest.raises(DatabaseError, match="only a run over local contacts opens as a database"):
        connect(str(tmp_path / "judged"), read_only=True)


@needs_java
def test_shards_built_apart_and_exported_in_buckets_give_the_flags_of_one_database(spark, tmp_path):
    """Two sites' own databases (Asterisk; the other systems, the mapped PBX and the visits), each
    exported by requester bucket, judged together on Spark: the flags of one database holding all."""
    mapping = load_mapping(SAMPLES / "mapping-example.toml")
    asterisk = sorted((SAMPLES / "asterisk").glob("*.csv"))
    shards = {
        "a": [("calls", asterisk, IngestOptions())],
        "b": [
            ("calls", [p for p in CALL_EXPORTS if p not in asterisk], IngestOptions()),
            ("calls", [SAMPLES / "pbx" / "calls-cp932.csv"], IngestOptions(mapping=mapping)),
            ("visits", sorted((SAMPLES / "visits").glob("*.csv")), IngestOptions()),
        ],
    }
    runner = CliRunner()
    with fixture_secret():
        for name, batches in shards.items():
            with connect(str(tmp_path / f"{name}.duckdb")) as db:
                ingest_files(db, "departments", [str(SAMPLES / "departments.csv")], IngestOptions())
                for kind, paths, options in batches:
                    assert not ingest_files(db, kind, [str(p) for p in paths], options).failures
            export = ["--db", str(tmp_path / f"{name}.duckdb"), "export", "--out", str(tmp_path / name)]
            assert runner.invoke(main, [*export, "--buckets", "4"], catch_exceptions=False).exit_code == 0
        with connect(str(tmp_path / "all.duckdb")) as db:
            ingest_sample_ward(db)
            exported = judged_and_exported(db, load_profile(), tmp_path / "all")
    buckets = sorted(path.name for path in (tmp_path / "a" / "contacts").iterdir())
    assert buckets == ["bucket=-1", "bucket=0", "bucket=1", "bucket=2", "bucket=3"]
    judge_on_spark(spark, load_profile(), [tmp_path / "a", tmp_path / "b"], tmp_path / "judged")
    assert assert_same_flags(exported, tmp_path / "judged") >= 15
    # a requester is in one bucket in every shard: a bucket of all shards can be judged alone
    con = duckdb.connect()
    spread = con.sql(
        f"SELECT requester_key, count(DISTINCT bucket) FROM read_parquet('{tmp_path}/*/contacts/*/*.parquet', "
        "hive_partitioning = true) WHERE requester_key IS NOT NULL GROUP BY ALL HAVING count(DISTINCT bucket) > 1"
    ).fetchall()
    assert spread == []


def test_the_random_histories_meet_every_rule_kind():
    assert {rule.kind for rule in MANY_KINDS.rules} == set(RULE_KINDS)


def history(index: int, bursts: list[dict]) -> list[dict]:
    """A random history (tests/test_rules_property.py) whose requesters and ids are the index's own."""
    rows = histories.build(bursts)
    for row in rows:
        row["requester_key"] = f"H{index}{row['requester_key']}"
        row["contact_id"] = f"h{index}{row['contact_id']}"
        row["source_ids"] = [f"h{index}{source}" for source in row["source_ids"]]
    return rows


# The property test's rules of every kind, tightened to fire often, with department overrides (other
# tiers, and switched off for one department) and the business calendar's off-hours rules.
MANY_KINDS = replace(histories.PROFILE, rules=tuple(r for r in histories.PROFILE.rules if r.id.endswith("_ov")))


@needs_java
@settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(many=st.lists(st.lists(histories.burst, min_size=1, max_size=8), min_size=6, max_size=16))
@example(many=[histories.CALENDAR_EDGES])
def test_random_histories_give_the_same_flags_for_every_rule_kind(spark, tmp_path_factory, many):
    """Each example judges 6 to 16 random histories at once, their requesters apart (a Spark run
    takes seconds, so many histories share one), with rules of every kind."""
    folder = tmp_path_factory.mktemp("histories")
    rows = [row for index, bursts in enumerate(many) for row in history(index, bursts)]
    with connect(":memory:") as db:
        db.con.register("_generated", pa.Table.from_pylist(rows))
        db.con.execute("INSERT INTO contacts BY NAME SELECT * FROM _generated")
        exported = judged_and_exported(db, MANY_KINDS, folder / "export")
    judge_on_spark(spark, MANY_KINDS, [exported], folder / "judged")
    assert_same_flags(exported, folder / "judged")


# -- what the Spark judge refuses ----------------------------------------------------------------


@needs_java
def test_contacts_given_twice_or_an_output_over_its_sources_are_refused_and_a_rerun_replaces_all(spark, tmp_path):
    with fixture_secret(), connect(str(tmp_path / "ward.duckdb")) as db:
        ingest_sample_ward(db)
        exported = judged_and_exported(db, load_profile(), tmp_path / "export")
    with pytest.raises(KasuharaError, match="contacts appear more than once in --from"):
        judge_on_spark(spark, load_profile(), [exported, exported / "contacts.parquet"], tmp_path / "twice")
    for out in (exported, exported / "inside"):
        with pytest.raises(KasuharaError, match="holds contacts"):
            judge_on_spark(spark, load_profile(), [exported], out)
    assert (exported / "flags.parquet").read_bytes() == (tmp_path / "export" / "flags.parquet").read_bytes()
    # a second run into the same folder, with a profile that flags less, leaves nothing of the first
    out = tmp_path / "judged"
    judge_on_spark(spark, load_profile(), [exported], out)
    fewer = load_profile().with_thresholds("long_call", watch=600, alert=900)
    report, _ = judge_on_spark(spark, fewer, [exported], out)
    con = duckdb.connect()
    assert con.sql(f"SELECT count(*) FROM '{out / 'flags.parquet'}'").fetchall()[0][0] == report.flags
    stale = con.sql(
        f"SELECT count(*) FROM '{out / 'flag_evidence' / '*.parquet'}' ANTI JOIN '{out / 'flags.parquet'}' f "
        "USING (flag_id)"
    )
    assert stale.fetchall()[0][0] == 0 and not list(out.glob(".*partial"))


@needs_java
def test_parquet_without_a_contacts_column_or_with_naive_times_is_named(spark, tmp_path):
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'c1' AS contact_id, 'call' AS channel) TO '{tmp_path / 'few.parquet'}'")
    with pytest.raises(KasuharaError, match=r"few.parquet: no column requester_key, .*kasuhara export"):
        judge_on_spark(spark, load_profile(), [tmp_path / "few.parquet"], tmp_path / "out")
    with fixture_secret(), connect(str(tmp_path / "ward.duckdb")) as db:
        ingest_sample_ward(db)
        export_parquet(db, tmp_path / "export")
    con.execute(
        f"COPY (SELECT * REPLACE (CAST(started_at AS TIMESTAMP) AS started_at) "
        f"FROM '{tmp_path / 'export' / 'contacts.parquet'}') TO '{tmp_path / 'naive.parquet'}'"
    )
    with pytest.raises(KasuharaError, match=r"naive.parquet: started_at must be time-zone-aware"):
        judge_on_spark(spark, load_profile(), [tmp_path / "naive.parquet"], tmp_path / "out")
    assert not (tmp_path / "out" / "flags.parquet").exists()
