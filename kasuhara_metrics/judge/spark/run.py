"""Judge contacts read from Parquet on Spark: the same profile and SQL as DuckDB's judge, the same flags.

The contacts are read once, kept in Spark's memory partitioned by requester (every measurement is
per requester, so each rule's windows run where the contacts already are), and judged by all rules
in one job. Flags go to `flags.parquet` through the same writer as `kasuhara export`, so the two
engines' files can be compared byte for byte; evidence rows go to `flag_evidence/`, written in
parallel by Spark. No Python runs on the executors: a cluster needs Spark only.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ...common.calendar import closed_days
from ...common.db import connect
from ...common.errors import KasuharaError
from ...common.judged_folder import EVIDENCE_FOLDER, RUN_FILE, contacts_paths
from ...common.parquet import write_view
from ...common.progress import Step, silent
from ...rules import RULE_KINDS, Profile, Rule
from ..episodes import EPISODES_SQL
from ..outcome import JudgeReport, RuleOutcome
from ..prepare import HIT_COLUMNS, RULE_COLUMNS, Clock, judged_sql, needs_calendar, rule_rows
from ..store import EVIDENCE_LISTS_SQL, FLAG_ROWS_SQL, evidence_sql
from .dialect import literal, to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SPARK_CLOCK = Clock(wall_clock="from_utc_timestamp({ts}, {tz})", instant="to_utc_timestamp({ts}, {tz})")

# The columns of `contacts` (docs/views.md) the judge reads, as Spark types.
JUDGED_COLUMNS = {
    "contact_id": "STRING",
    "channel": "STRING",
    "requester_key": "STRING",
    "department": "STRING",
    "kind": "STRING",
    "topic": "STRING",
    "started_at": "TIMESTAMP",
    "ended_at": "TIMESTAMP",
    "talk_s": "INT",
    "answered": "BOOLEAN",
    "outcome": "STRING",
    "source_ids": "ARRAY<STRING>",
    "exit_requested_at": "TIMESTAMP",
}
HITS_SCHEMA = (
    "rule_id STRING, requester_key STRING, group_key STRING, window_start TIMESTAMP, window_end TIMESTAMP, "
    "value DOUBLE, severity STRING, threshold DOUBLE, override_id STRING"
)
# The run's number in the files it writes: each output folder holds one run.
RUN_ID = 1


@dataclass(frozen=True)
class SparkOutput:
    """What a Spark judge run wrote."""

    flags: Path
    evidence: Path
    run: Path


def is_uri(source: str | Path) -> bool:
    """A location for Spark's file systems (hdfs://, s3a://, file://) rather than a local path."""
    return "://" in str(source)


def read_contacts(spark: SparkSession, sources: list[str | Path]) -> DataFrame:
    """The contacts of every source, with the judge's columns checked and typed.

    A local source may be an export folder; a URI (hdfs://, s3a://) names the contacts Parquet itself.
    """
    frames = []
    local = [Path(source) for source in sources if not is_uri(source)]
    for source in local:
        if not source.exists():
            raise KasuharaError(f"{source}: no such file or folder (give a `kasuhara export` folder or Parquet)")
    # local paths as file:// URIs: on a cluster a bare path would mean the cluster's file system (HDFS)
    resolved = {source: path.resolve().as_uri() for source, path in zip(local, contacts_paths(local), strict=True)}
    for path in (str(source) if is_uri(source) else resolved[Path(source)] for source in sources):
        try:
            frame = spark.read.parquet(path)
        except Exception as exc:
            raise KasuharaError(f"{path}: Spark cannot read it as Parquet ({exc.__class__.__name__})") from exc
        types = dict(frame.dtypes)
        missing = [column for column in JUDGED_COLUMNS if column not in types]
        if missing:
            raise KasuharaError(
                f"{path}: no column {', '.join(missing)}; the Spark judge reads the contacts columns of "
                "docs/views.md (write them with `kasuhara export`)"
            )
        naive = [
            column for column, kind in JUDGED_COLUMNS.items() if kind == "TIMESTAMP" and types[column] != "timestamp"
        ]
        if naive:
            raise KasuharaError(
                f"{path}: {', '.join(naive)} must be time-zone-aware timestamps (Parquet isAdjustedToUTC, DuckDB "
                f"TIMESTAMPTZ), not {', '.join(types[c] for c in naive)}: a time without its zone is ambiguous"
            )
        frames.append(
            frame.selectExpr(*(f"CAST({column} AS {kind}) AS {column}" for column, kind in JUDGED_COLUMNS.items()))
        )
    contacts = frames[0]
    for frame in frames[1:]:
        contacts = contacts.unionByName(frame)
    return contacts


def refuse_repeated_contacts(spark: SparkSession) -> None:
    """A contact read twice (the same export given twice, a shard and one of its own buckets) would be
    counted twice: more contacts in a day, more minutes, a flag nobody earned. DuckDB's ingest keeps
    one of each; here the sources must not overlap."""
    repeated = spark.sql(
        "SELECT count(*), count(DISTINCT contact_id) FROM contacts WHERE requester_key IS NOT NULL"
    ).collect()[0]
    if repeated[0] != repeated[1]:
        raise KasuharaError(
            f"{repeated[0] - repeated[1]:,} contacts appear more than once in --from (the same export twice, "
            "overlapping exports, or a shard and one of its own buckets): give each contact's source once"
        )


def judge_parquet(
    spark: SparkSession,
    profile: Profile,
    sources: list[str | Path],
    out: Path,
    *,
    as_of: date | None = None,
    progress: Step = silent,
) -> tuple[JudgeReport, SparkOutput]:
    """Judge the contacts of `sources` with `profile` on `spark`; write flags and evidence under `out`."""
    started = datetime.now(UTC)
    rules = profile.enabled_rules
    progress("reading contacts", 0, STEPS)
    refuse_writing_over_sources(out, sources)
    read_contacts(spark, sources).createOrReplaceTempView("contacts")
    refuse_repeated_contacts(spark)
    kept = [_judged(spark, profile, as_of)]
    progress("judging every rule", 1, STEPS)
    kept.append(_view(_all_hits(spark, rules), "_hits"))
    report = _counted(spark, profile, as_of)
    progress("episodes and evidence", 2, STEPS)
    kept.append(_view(spark.sql(to_spark(EPISODES_SQL)), "_episodes"))
    evidence = _view(spark.sql(to_spark(*evidence_sql(rules))), "flag_evidence_rows")
    kept.append(evidence)
    rule_rows_schema = ", ".join(f"{column} STRING" for column in RULE_COLUMNS)
    spark.createDataFrame([row for rule in rules for row in rule_rows(rule)], rule_rows_schema).createOrReplaceTempView(
        "_rules"
    )
    out.mkdir(parents=True, exist_ok=True)
    output = SparkOutput(out / "flags.parquet", out / EVIDENCE_FOLDER, out / RUN_FILE)
    # The run file goes first and comes back last: a run that fails half-way leaves a folder that does
    # not open as a database, never new flags beside old evidence.
    output.run.unlink(missing_ok=True)
    progress("writing flags", 3, STEPS)
    flags_per_rule = _write_flags(spark, profile, output.flags)
    for outcome in report.rules:
        outcome.flags = outcome.added = flags_per_rule.get(outcome.rule_id, 0)
    report.flags = report.total_flags = report.new = sum(flags_per_rule.values())
    progress("writing evidence", 4, STEPS)
    _write_evidence(evidence, output.evidence)
    _write_run(output.run, profile, report, sources, spark, started)
    for frame in kept:
        frame.unpersist()
    return report, output


STEPS = 5  # reading, rules, episodes and evidence, flags, evidence written


def refuse_writing_over_sources(out: Path, sources: list[str | Path]) -> None:
    """--out is replaced file by file: it must not be, lie in, or hold the contacts being read."""
    target = out.resolve()
    inside = [
        source
        for source in sources
        if not is_uri(source) and (target == Path(source).resolve() or Path(source).resolve() in target.parents)
    ]
    if inside or (out / "contacts.parquet").exists() or (out / "contacts").exists():
        raise KasuharaError(
            f"--out {out} holds contacts (a `kasuhara export` folder, or a --from): write the flags to a folder "
            "of their own"
        )


def _view(frame: DataFrame, name: str) -> DataFrame:
    """`frame` kept in memory under `name`, for the statements after it."""
    frame = frame.cache()
    frame.createOrReplaceTempView(name)
    return frame


def _judged(spark: SparkSession, profile: Profile, as_of: date | None) -> DataFrame:
    """`_judged`, as prepare.judged_sql defines it, partitioned by requester: every measurement is per
    requester, so each rule's windows run where its contacts are, without another shuffle."""
    closed = _closed_days_sql(spark, profile) if needs_calendar(profile) else "FALSE"
    sql, params = judged_sql(profile, "contacts c", as_of, SPARK_CLOCK, closed_days=closed)
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions") or 200)
    return _view(spark.sql(to_spark(sql, params)).repartition(partitions, "requester_key"), "_judged")


def _all_hits(spark: SparkSession, rules: tuple[Rule, ...]) -> DataFrame:
    """The hits of every rule: each rule's SQL translated on its own (parameters are per rule), and
    analysed by Spark as one statement."""
    if not rules:
        return spark.createDataFrame([], HITS_SCHEMA)
    queries = []
    for rule in rules:
        sql, params = RULE_KINDS[rule.kind].hits_sql(rule)
        measured = f"SELECT $rule_id AS rule_id, {', '.join(HIT_COLUMNS[1:])} FROM ({sql}) h"
        queries.append(f"SELECT * FROM ({to_spark(measured, {**params, 'rule_id': rule.id})})")
    return spark.sql(" UNION ALL ".join(queries))


def _counted(spark: SparkSession, profile: Profile, as_of: date | None) -> JudgeReport:
    """The run's report: contacts judged, and per rule the contacts it looked at and its hits."""
    rules = profile.enabled_rules
    looked_at = "".join(f", count_if({to_spark(*RULE_KINDS[rule.kind].looked_at(rule))})" for rule in rules)
    judged, *evaluated = spark.sql(f"SELECT count(*) {looked_at} FROM _judged c").collect()[0]
    hits: dict[str, int] = dict(spark.sql("SELECT rule_id, count(*) FROM _hits GROUP BY rule_id").collect())
    report = JudgeReport(None, profile, as_of, contacts_judged=judged)
    report.rules = [RuleOutcome(rule.id, n, hits.get(rule.id, 0)) for rule, n in zip(rules, evaluated, strict=True)]
    return report


def _write_flags(spark: SparkSession, profile: Profile, path: Path) -> dict[str, int]:
    """flags.parquet through `kasuhara export`'s writer (flags are few: one per episode); flags per rule."""
    params = {"run_id": RUN_ID, "profile_name": profile.name, "profile_version": profile.version}
    flags = spark.sql(to_spark(FLAG_ROWS_SQL, params)).toArrow()
    lists = spark.sql(to_spark(EVIDENCE_LISTS_SQL)).toArrow()
    partial = path.with_name(f".{path.name}.partial")
    with connect(":memory:", timezone=profile.site.timezone) as db:
        db.con.register("_spark_flags", flags)
        db.con.execute("INSERT INTO flag_rows BY NAME SELECT * FROM _spark_flags")
        db.con.unregister("_spark_flags")
        # The flags view reads each flag's list from its evidence rows: here one per flag, its whole
        # list as Spark made it (the rows themselves go to flag_evidence/).
        db.con.register("_spark_lists", lists)
        db.con.execute("""
            INSERT INTO flag_evidence_rows (flag_id, contact_id, channel, started_at, talk_s, source_ids)
            SELECT flag_id, '', '', now(), 0, evidence FROM _spark_lists
        """)
        db.con.unregister("_spark_lists")
        write_view(db, "flags", partial)
        per_rule = dict(db.con.execute("SELECT rule_id, count(*) FROM flag_rows GROUP BY rule_id").fetchall())
    os.replace(partial, path)
    return per_rule


def _write_evidence(evidence: DataFrame, folder: Path) -> None:
    """The evidence rows, written in parallel by Spark; the folder is replaced only once complete."""
    partial = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    evidence.orderBy("flag_id", "started_at", "contact_id").write.parquet(partial.resolve().as_uri())
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def _closed_days_sql(spark: SparkSession, profile: Profile) -> str:
    """SQL true for a contact on one of the site's closed days, over the days the contacts span."""
    tz = literal(profile.site.timezone).sql(dialect="spark")
    local = SPARK_CLOCK.wall_clock.format(tz=tz, ts="started_at")
    first, last = spark.sql(
        f"SELECT CAST(min({local}) AS DATE), CAST(max({local}) AS DATE) FROM contacts WHERE requester_key IS NOT NULL"
    ).collect()[0]
    days = closed_days(profile.site, first, last) if first is not None else []
    if not days:
        return "FALSE"
    return f"local_day IN ({', '.join(f'DATE {day.isoformat()!r}' for day, _reason in days)})"


def _write_run(
    path: Path, profile: Profile, report: JudgeReport, sources: list[str | Path], spark: SparkSession, started
) -> None:
    """What made the files: the profile, the sources, the engine, and the counts per rule."""
    run = {
        "run_id": RUN_ID,
        "engine": "spark",
        "spark_version": spark.version,
        "master": spark.sparkContext.master,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "profile_path": str(profile.path),
        "profile_name": profile.name,
        "profile_version": profile.version,
        "profile_hash": profile.content_hash,
        "site": {"timezone": profile.site.timezone, "counter_closing": profile.site.counter_closing},
        "as_of": report.as_of.isoformat() if report.as_of else None,
        "sources": [str(source) if is_uri(source) else str(Path(source).resolve()) for source in sources],
        "contacts_judged": report.contacts_judged,
        "flags": report.flags,
        "rules": [
            {
                "rule_id": rule.id,
                "rule_hash": rule.content_hash,
                "kind": rule.kind,
                "contacts_evaluated": outcome.contacts_evaluated,
                "hits": outcome.hits,
                "flags": outcome.flags,
            }
            for rule, outcome in zip(profile.enabled_rules, report.rules, strict=True)
        ],
    }
    path.write_text(json.dumps(run, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
