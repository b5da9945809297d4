"""Call legs from any phone-system format into `call_legs`: types, checks, identities, duplicates.

A format reader (asterisk.py, mapped_csv.py) hands over one file's rows as canonical string
columns. Everything after that is shared and runs in DuckDB: rows are typed and checked (a bad
row goes to `rejects` with its reason), callers become pseudonyms, and a record already stored
is counted as a duplicate instead of being stored again.

When a leg counts as answered: the export says it was answered (Asterisk disposition ANSWERED,
or the mapping's answered status), it has at least one second of talk (billsec), and for
Asterisk its last application is not a machine (voicemail, announcements: SiteSettings.machine_apps).
BUSY rows with billsec > 0 are therefore not answered. Talk time is billsec: answer to end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from ..db import Database, drop_temp_tables, unregister_all
from ..identity import Pseudonymizer, identify_dialled, identify_values
from ..site import SiteSettings
from .csvread import LINE_COLUMN, BadLine, ParsedFile
from .filelog import FileResult, write_rejects

CANONICAL_COLUMNS = (
    "caller", "dialled", "dcontext", "channel", "dstchannel", "lastapp", "start", "answer", "end",
    "duration", "billsec", "disposition", "direction_hint", "uniqueid", "linkedid", "leg_sequence", "call_id",
)

DEFAULT_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
)
DURATION_FORMATS = ("seconds", "hms", "ms", "minutes")

# Outcomes a disposition or status maps to.
OUTCOMES = ("ANSWERED", "NO ANSWER", "BUSY", "FAILED")

_FULLWIDTH = ("０１２３４５６７８９／：－　", "0123456789/:- ")


@dataclass
class CallRows:
    """One file's call legs as canonical string columns, ready for the shared checks."""

    format: str
    table: pa.Table  # CANONICAL_COLUMNS + LINE_COLUMN
    rejects: list[BadLine] = field(default_factory=list)
    time_formats: tuple[str, ...] = DEFAULT_TIME_FORMATS
    duration_format: str = "seconds"
    # Upper-cased raw disposition/status -> one of OUTCOMES; None: no status column (talk > 0 means answered).
    dispositions: dict[str, str] | None = None
    # Asterisk: a leg ended in a machine application is not answered by staff.
    uses_lastapp: bool = False
    # The export's start and end are those of the conversation itself (no talk or answer column).
    talk_is_span: bool = False


def canonical_table(columns: dict[str, pa.Array], lines: pa.Array) -> pa.Table:
    """Fill the canonical columns a format does not have with nulls."""
    length = len(lines)
    arrays = {name: columns.get(name, pa.nulls(length, pa.string())) for name in CANONICAL_COLUMNS}
    arrays[LINE_COLUMN] = lines
    return pa.table(arrays)


def _fullwidth_to_ascii_sql(column: str) -> str:
    return f"trim(translate(coalesce({column}, ''), '{_FULLWIDTH[0]}', '{_FULLWIDTH[1]}'))"


def _timestamp_sql(column: str) -> str:
    # COALESCE is lazy: the costly full-width clean-up only runs on values that did not parse as
    # written. Each expression names its column once, so DuckDB does not hoist parts to every row.
    return f"coalesce(try_strptime({column}, $time_formats), try_strptime({_fullwidth_to_ascii_sql(column)}, $time_formats))"


def _is_blank_sql(column: str) -> str:
    """Empty, spaces, or an NTT-style `**********` (never connected)."""
    return f"regexp_full_match(coalesce({column}, ''), '\\s*(\\*\\*\\*\\*.*)?')"


def _seconds_sql(column: str, duration_format: str) -> str:
    if duration_format in ("seconds", "minutes"):
        factor = " * 60" if duration_format == "minutes" else ""
        return f"coalesce(TRY_CAST({column} AS BIGINT), TRY_CAST({_fullwidth_to_ascii_sql(column)} AS BIGINT)){factor}"
    value = _fullwidth_to_ascii_sql(column)
    if duration_format == "hms":
        return (
            f"CASE WHEN regexp_full_match({value}, '\\d+:\\d{{1,2}}:\\d{{1,2}}') THEN "
            f"CAST(split_part({value}, ':', 1) AS BIGINT) * 3600 + CAST(split_part({value}, ':', 2) AS BIGINT) * 60 "
            f"+ CAST(split_part({value}, ':', 3) AS BIGINT) END"
        )
    if duration_format == "ms":
        return (
            f"CASE WHEN regexp_full_match({value}, '\\d+:\\d{{1,2}}') THEN "
            f"CAST(split_part({value}, ':', 1) AS BIGINT) * 60 + CAST(split_part({value}, ':', 2) AS BIGINT) END"
        )
    raise ValueError(f"unknown duration format {duration_format}")


_DURATION_EXAMPLE = {"seconds": "seconds such as 125", "minutes": "whole minutes", "hms": "H:MM:SS", "ms": "MM:SS"}


def _typed_sql(rows: CallRows) -> str:
    fmt = rows.duration_format
    duration = _seconds_sql("duration", fmt)
    billsec = _seconds_sql("billsec", fmt)
    example = _DURATION_EXAMPLE[fmt]
    outcome = "d.outcome" if rows.dispositions is not None else "NULL"
    join = "LEFT JOIN _dispositions d ON d.raw = upper(trim(s.disposition))" if rows.dispositions is not None else ""
    machine = "AND coalesce(lastapp, '') NOT IN (SELECT app FROM _machine_apps)" if rows.uses_lastapp else ""
    talk_from_span = "TRUE" if rows.talk_is_span else "FALSE"
    return f"""
CREATE OR REPLACE TEMP TABLE _typed AS
WITH parsed AS (
    SELECT s.*,
           {_timestamp_sql('s.start')} AS start_local,
           {_timestamp_sql('s.answer')} AS answer_local,
           {_timestamp_sql('s."end"')} AS end_given,
           {duration} AS duration_given,
           {billsec} AS billsec_given,
           {outcome} AS outcome
    FROM _stage s {join}
), filled AS (
    SELECT *,
           coalesce(end_given, start_local + to_seconds(coalesce(duration_given, billsec_given))) AS end_local
    FROM parsed
), checked AS (
    SELECT *,
        -- Each test looks at the cheap NULL first: only values that did not parse are examined further.
        CASE
            WHEN start_local IS NULL AND {_is_blank_sql('start')} THEN 'no start time'
            WHEN start_local IS NULL THEN 'start time ''' || start || ''' is not a date in a known format (such as 2026-09-01 09:03:15)'
            WHEN answer_local IS NULL AND NOT {_is_blank_sql('answer')} THEN 'answer time ''' || answer || ''' is not a date in a known format'
            WHEN end_given IS NULL AND NOT {_is_blank_sql('"end"')} THEN 'end time ''' || "end" || ''' is not a date in a known format'
            WHEN duration_given IS NULL AND NOT {_is_blank_sql('duration')} THEN 'duration ''' || duration || ''' is not {example}'
            WHEN billsec_given IS NULL AND NOT {_is_blank_sql('billsec')} THEN 'talk time ''' || billsec || ''' is not {example}'
            WHEN end_local IS NULL THEN 'no end time and no duration'
            WHEN duration_given < 0 OR billsec_given < 0 THEN 'negative duration'
            WHEN end_local < start_local THEN 'ends before it starts'
            WHEN {'TRUE' if rows.dispositions is not None else 'FALSE'} AND outcome IS NULL AND NOT {_is_blank_sql('disposition')}
                THEN 'unknown disposition ''' || disposition || ''' (expected one of: ' || $outcome_words || ')'
        END AS reject_reason
    FROM filled
), timed AS (
    SELECT *,
           coalesce(duration_given, CAST(epoch(end_local) - epoch(start_local) AS BIGINT)) AS duration_s,
           coalesce(
               billsec_given,
               CASE WHEN answer_local IS NOT NULL THEN CAST(epoch(end_local) - epoch(answer_local) AS BIGINT)
                    WHEN {talk_from_span} THEN CAST(epoch(end_local) - epoch(start_local) AS BIGINT)
                    ELSE 0 END
           ) AS billsec_s
    FROM checked
)
SELECT *,
       -- Exports that give only the talk time: it ended at the end, so it began talk seconds before.
       coalesce(answer_local, CASE WHEN billsec_s > 0 THEN end_local - to_seconds(billsec_s) END) AS answer_at,
       (coalesce(outcome, 'ANSWERED') = 'ANSWERED' AND billsec_s > 0 {machine}) AS answered
FROM timed
"""


def file_key(sha256: str) -> str:
    """A file's short name in source ids: part of its content hash, the same whenever it is ingested."""
    return sha256[:12]


def _quoted(column: str) -> str:
    return f'"{column}"'


# The duplicate check: every canonical field of a leg, NULL kept apart from empty.
_FINGERPRINT_SQL = "md5_number(concat_ws(chr(31), {}))".format(
    ", ".join(f"coalesce({_quoted(c)}, chr(0))" for c in CANONICAL_COLUMNS)
)


def batch_key(rows: CallRows) -> tuple:
    """Files whose rows are typed alike (same time and duration formats, statuses) share one pass."""
    return (rows.time_formats, rows.duration_format, tuple(sorted((rows.dispositions or {}).items())),
            rows.dispositions is None, rows.uses_lastapp, rows.talk_is_span)


def store_calls(db: Database, batch: list[tuple[ParsedFile, CallRows, FileResult]], site: SiteSettings,
                pseudo: Pseudonymizer) -> None:
    """Type, check, identify and de-duplicate the legs of a batch of files, then insert them.

    One pass of SQL for many files (each statement costs the same for 100 rows as for 100,000);
    every count is kept per file, and a record in two files of the batch is kept in the first.
    Fills each file's `result`.
    """
    con = db.con
    settings = batch[0][1]
    tables = [rows.table.append_column("_batch", pa.array([n] * rows.table.num_rows, pa.int32()))
              for n, (_, rows, _) in enumerate(batch)]
    con.register("_stage", pa.concat_tables(tables))
    con.register("_batch_files", pa.table({
        "_batch": pa.array(range(len(batch)), pa.int32()),
        "file_id": pa.array([result.file_id for _, _, result in batch], pa.int64()),
        "file_key": pa.array([file_key(parsed.sha256) for parsed, _, _ in batch], pa.string()),
        "format": pa.array([rows.format for _, rows, _ in batch], pa.string()),
    }))
    if settings.dispositions is not None:
        con.register("_dispositions",
                     pa.table({"raw": list(settings.dispositions), "outcome": list(settings.dispositions.values())}))
    con.register("_machine_apps", pa.table({"app": pa.array(list(site.machine_apps), pa.string())}))
    try:
        con.execute(
            _typed_sql(settings),
            {"time_formats": list(settings.time_formats),
             "outcome_words": ", ".join(sorted(set(settings.dispositions or {})))},
        )
        bad: dict[int, list[tuple[int, str]]] = {}
        for number, line, reason in con.execute(
                "SELECT _batch, _line, reject_reason FROM _typed WHERE reject_reason IS NOT NULL ORDER BY _line").fetchall():
            bad.setdefault(number, []).append((line, reason))
        _register_identities(db, site, pseudo)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _legs AS
            WITH fingerprinted AS (
                SELECT _batch, _line, caller, dialled, uniqueid, linkedid, leg_sequence, call_id, direction_hint,
                       dcontext, lastapp, disposition, outcome, start_local, answer_at, end_local, duration_s,
                       billsec_s, answered, {_FINGERPRINT_SQL} AS fp
                FROM _typed WHERE reject_reason IS NULL
            ),
                 repeated AS (SELECT fp FROM fingerprinted GROUP BY fp HAVING count(*) > 1)
            -- Identical records without ids inside one file are separate calls, numbered copy 1, 2, ...;
            -- a record with a uniqueid, linkedid or call id is one call however often it is written.
            -- A record seen once is copy 1 (no sort needed); of copies in several files, the first file's stays.
            SELECT *, 1 AS occ, TRUE AS first_copy FROM fingerprinted ANTI JOIN repeated USING (fp)
            UNION ALL
            SELECT *, row_number() OVER (PARTITION BY fp, occ ORDER BY _batch, _line) = 1 AS first_copy FROM (
                SELECT *, CASE WHEN coalesce(trim(uniqueid), '') <> '' OR coalesce(trim(linkedid), '') <> ''
                                    OR coalesce(trim(call_id), '') <> '' THEN 1
                               ELSE row_number() OVER (PARTITION BY _batch, fp ORDER BY _line) END AS occ
                FROM fingerprinted SEMI JOIN repeated USING (fp)
            )
        """)
        con.execute(
            """
            INSERT INTO call_legs
            SELECT f.file_id, l._line, l.fp, l.occ, f.format, nullif(trim(l.uniqueid), ''), nullif(trim(l.linkedid), ''),
                   TRY_CAST(l.leg_sequence AS BIGINT),
                   -- Asterisk ids are unique across files; an export's own call numbers only within their file,
                   -- which is named by its content (not its file_id), so the ids do not depend on ingest order.
                   coalesce(nullif(trim(l.linkedid), ''), nullif(trim(l.uniqueid), ''),
                            'f' || f.file_key || ':' || coalesce(nullif(trim(l.call_id), ''), 'line' || l._line)),
                   -- A call placed in a staff context is staff, whatever number it shows.
                   CASE WHEN c.class = 'external' AND list_contains($internal_contexts, l.dcontext) THEN NULL ELSE c.key END,
                   CASE WHEN c.class = 'external' AND list_contains($internal_contexts, l.dcontext) THEN 'internal' ELSE c.class END,
                   CASE WHEN c.class = 'external' AND list_contains($internal_contexts, l.dcontext) THEN 'internal context' ELSE c.note END,
                   d.value, d.class,
                   nullif(l.direction_hint, ''), nullif(l.dcontext, ''), nullif(l.lastapp, ''),
                   coalesce(l.outcome, nullif(upper(trim(l.disposition)), '')),
                   timezone($tz, l.start_local), timezone($tz, l.answer_at), timezone($tz, l.end_local),
                   l.duration_s, l.billsec_s, l.answered
            FROM _legs l
            JOIN _batch_files f USING (_batch)
            JOIN _callers c ON c.raw IS NOT DISTINCT FROM l.caller
            JOIN _dialled d ON d.raw IS NOT DISTINCT FROM l.dialled
            -- A stored copy starts when this record starts: only that stretch of a year's legs is read.
            ANTI JOIN (SELECT record_fp, record_occ FROM call_legs
                       WHERE started_at BETWEEN (SELECT timezone($tz, min(start_local)) FROM _legs)
                                            AND (SELECT timezone($tz, max(start_local)) FROM _legs)) x
                ON x.record_fp = l.fp AND x.record_occ = l.occ
            WHERE l.first_copy
            """,
            {"tz": site.timezone, "internal_contexts": list(site.internal_contexts)},
        )
        kept = dict(con.execute(
            "SELECT file_id, count(*) FROM call_legs WHERE file_id IN (SELECT file_id FROM _batch_files) GROUP BY ALL"
        ).fetchall())
        legs = dict(con.execute("SELECT _batch, count(*) FROM _legs GROUP BY ALL").fetchall())
    finally:
        unregister_all(con, "_stage", "_batch_files", "_dispositions", "_machine_apps", "_callers", "_dialled")
        drop_temp_tables(con, "_typed", "_legs")
    for number, (parsed, rows, result) in enumerate(batch):
        rejects = list(rows.rejects)
        if number in bad:
            raw = parsed.raw_lines({line for line, _ in bad[number]})
            rejects.extend(BadLine(line, raw.get(line, ""), reason) for line, reason in bad[number])
        result.rows_read = parsed.rows_read
        result.rejected = len(rejects)
        result.kept = kept.get(result.file_id, 0)
        result.duplicates = legs.get(number, 0) - result.kept
        write_rejects(db, result.file_id, result.path, sorted(rejects, key=lambda r: r.line), parsed.sha256)


def _register_identities(db: Database, site: SiteSettings, pseudo: Pseudonymizer) -> None:
    con = db.con
    callers = [row[0] for row in con.execute("SELECT DISTINCT caller FROM _typed WHERE reject_reason IS NULL").fetchall()]
    con.register("_callers", identify_values(callers, site, pseudo))
    dialled = [row[0] for row in con.execute("SELECT DISTINCT dialled FROM _typed WHERE reject_reason IS NULL").fetchall()]
    con.register("_dialled", identify_dialled(dialled, site, pseudo))
