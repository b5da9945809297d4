"""Call legs from any phone system into `call_legs`: types, checks, identities, duplicates.

A source (ingest/sources/) hands over one file's rows as canonical string columns. Everything
after that is shared and runs in DuckDB: rows are typed and checked (a bad row goes to `rejects`
with its reason), callers become pseudonyms, and a record already stored is counted as a
duplicate instead of being stored again.

When a leg counts as answered (`outcome` 'answered'): the export says it was answered (Asterisk
disposition ANSWERED, or the source's or mapping's answered status), it has at least one second
of talk, it reached a person (where the source knows the destination channel: a non-empty one),
and its last application is not a machine (an IVR menu, voicemail, an announcement:
SiteSettings.machine_apps). Answered by a menu or a machine is 'machine'. Talk time is billsec:
answer to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ...common import arrays
from ...common.bulkidentity import identify_values
from ...common.duckutil import ArrowScope
from ...common.identity import identify_dialled
from ...common.site import SiteSettings
from ..clock import Clock, night_note
from ..csvread import LINE_COLUMN
from ..filelog import shape_sql
from ..timesql import (
    DURATION_EXAMPLES,
    MAX_SECONDS,
    blank_sql,
    blank_time_sql,
    instant_sql,
    outside_window_sql,
    seconds_sql,
    split_time_formats,
)
from .base import RecordStore

# The fields of a call record whatever the phone system. Never reorder or remove one: the
# duplicate check fingerprints these, and stored records must keep matching re-sent ones.
FINGERPRINT_COLUMNS = (
    "caller",
    "dialled",
    "dcontext",
    "channel",
    "dstchannel",
    "lastapp",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "direction_hint",
    "uniqueid",
    "linkedid",
    "leg_sequence",
    "call_id",
)
# Besides: "1" when the source knows the caller is a staff phone (a Cisco phone), and the version
# of a record delivered more than once (the latest of a call wins).
CANONICAL_COLUMNS = FINGERPRINT_COLUMNS + ("staff_device", "record_version")

DEFAULT_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
)

# Outcomes a disposition or status maps to.
OUTCOMES = ("ANSWERED", "NO ANSWER", "BUSY", "FAILED")


@dataclass(frozen=True)
class CallTyping:
    """How a file's canonical columns are typed. Files typed alike share one pass of SQL."""

    time_formats: tuple[str, ...] = DEFAULT_TIME_FORMATS
    duration_format: str = "seconds"
    # Upper-cased raw disposition/status -> one of OUTCOMES; None: no status column (talk > 0 means answered).
    dispositions: tuple[tuple[str, str], ...] | None = None
    # Asterisk: a leg ended in a machine application was not answered by staff.
    uses_lastapp: bool = False
    # The export's start and end are those of the conversation itself (no talk or answer column).
    talk_is_span: bool = False
    # The source writes the destination channel (Asterisk dstchannel, a FreeSWITCH b-leg, a CUCM
    # destination device, a Connect agent): a leg that reached none was answered by a machine.
    answer_needs_dstchannel: bool = False
    # Asterisk: a caller that is the device its own channel names (SIP/<caller>-...) is a staff phone.
    caller_device_in_channel: bool = False


def canonical_table(columns: dict[str, pa.Array], lines: pa.Array) -> pa.Table:
    """Fill the canonical columns a source does not have with nulls."""
    length = len(lines)
    table = {name: columns.get(name, pa.nulls(length, pa.string())) for name in CANONICAL_COLUMNS}
    table[LINE_COLUMN] = lines
    return pa.table(table)


def file_key(sha256: str) -> str:
    """A file's short name in source ids: part of its content hash, the same whenever it is ingested."""
    return sha256[:12]


END = '"end"'  # a reserved word: the column quoted

# The device a channel names: SIP/<device>-<hex>, PJSIP/<device>-<hex>, IAX2/<device>-<number>.
_DEVICE = r"^(?:SIP|PJSIP|IAX2)/(.+)-[0-9a-fA-F]+$"


def staff_phone_sql(caller_device_in_channel: bool) -> str:
    """Whether a staged leg's caller is a staff phone: the source says so (staff_device '1'), or,
    where `caller_device_in_channel`, the caller is the device its own channel names."""
    if not caller_device_in_channel:
        return "coalesce(s.staff_device = '1', FALSE)"
    # The capture runs only where the channel holds the caller at all: RE2 captures slowly, and
    # on a day of calls from outside (channel SIP/trunk-...) it took 40% of typing the rows.
    return (
        "coalesce(s.staff_device = '1', CASE WHEN contains(s.channel, trim(s.caller)) "
        f"THEN nullif(regexp_extract(s.channel, '{_DEVICE}', 1), '') = trim(s.caller) END, FALSE)"
    )


# The duplicate check: every fingerprinted field of a leg, NULL kept apart from empty.
_FINGERPRINT_FIELDS = ", ".join(f'coalesce("{column}", chr(0))' for column in FINGERPRINT_COLUMNS)
_FINGERPRINT_SQL = f"md5_number(concat_ws(chr(31), {_FINGERPRINT_FIELDS}))"


class CallStore(RecordStore):
    kind = "calls"
    identities = {"caller": identify_values, "dialled": identify_dialled}

    def helper_tables(self, typing: CallTyping, site: SiteSettings, pseudo) -> dict[str, pa.Table]:
        tables = {"_machine_apps": pa.table({"app": arrays.strings(list(site.machine_apps))})}
        if typing.dispositions is not None:
            tables["_dispositions"] = pa.table(
                {
                    "raw": arrays.strings(raw for raw, _ in typing.dispositions),
                    "outcome": arrays.strings(outcome for _, outcome in typing.dispositions),
                }
            )
        return tables

    def params(self, typing: CallTyping, site: SiteSettings) -> dict[str, Any]:
        return {
            "time_formats": split_time_formats(typing.time_formats)[0],  # the naive ones
            "outcome_words": ", ".join(sorted({raw for raw, _ in typing.dispositions or ()})),
            "internal_contexts": list(site.internal_contexts),
            "tz": site.timezone,
            "plausible_years": site.plausible_years,
        }

    def type_sql(self, typing: CallTyping) -> str:
        formats = typing.time_formats
        fmt = typing.duration_format
        example = DURATION_EXAMPLES[fmt]
        has_status = typing.dispositions is not None
        status = "d.outcome" if has_status else "NULL"
        join = "LEFT JOIN _dispositions d ON d.raw = upper(trim(s.disposition))" if has_status else ""
        machine = "coalesce(lastapp, '') IN (SELECT app FROM _machine_apps)" if typing.uses_lastapp else "FALSE"
        reached = "trim(coalesce(dstchannel, '')) <> ''" if typing.answer_needs_dstchannel else "TRUE"
        return f"""
WITH parsed AS (
    SELECT s.*,
           {instant_sql("s.start", formats)} AS start_at,
           {instant_sql("s.answer", formats)} AS answer_given,
           {instant_sql('s."end"', formats)} AS end_given,
           {seconds_sql("s.duration", fmt)} AS duration_given,
           {seconds_sql("s.billsec", fmt)} AS billsec_given,
           {status} AS status_outcome,
           TRY_CAST(s.record_version AS TIMESTAMPTZ) AS version_at,
           {staff_phone_sql(typing.caller_device_in_channel)} AS staff_phone
    FROM _stage s {join}
), filled AS (
    SELECT *, coalesce(end_given,
                       CASE WHEN coalesce(duration_given, billsec_given) BETWEEN 0 AND {MAX_SECONDS}
                            THEN start_at + to_seconds(coalesce(duration_given, billsec_given)) END) AS end_at
    FROM parsed
), checked AS (
    SELECT *,
        -- Each test looks at the cheap NULL first: only values that did not parse are examined further.
        CASE
            WHEN start_at IS NULL AND {blank_time_sql("start", formats)} THEN 'no start time'
            WHEN start_at IS NULL
                THEN 'start time ''' || {shape_sql("start")} || ''' is not a date in a known format '
                     || '(such as 2026-09-01 09:03:15)'
            WHEN answer_given IS NULL AND NOT {blank_time_sql("answer", formats)}
                THEN 'answer time ''' || {shape_sql("answer")} || ''' is not a date in a known format'
            WHEN end_given IS NULL AND NOT {blank_time_sql('"end"', formats)}
                THEN 'end time ''' || {shape_sql(END)} || ''' is not a date in a known format'
            WHEN duration_given IS NULL AND NOT {blank_sql("duration")}
                THEN 'duration ''' || {shape_sql("duration")} || ''' is not {example}'
            WHEN billsec_given IS NULL AND NOT {blank_sql("billsec")}
                THEN 'talk time ''' || {shape_sql("billsec")} || ''' is not {example}'
            WHEN duration_given < 0 OR billsec_given < 0 THEN 'negative duration'
            WHEN duration_given > {MAX_SECONDS} OR billsec_given > {MAX_SECONDS}
                THEN 'a duration of ' || greatest(duration_given, billsec_given)
                     || ' s is more than a day - a damaged value?'
            WHEN end_at IS NULL THEN 'no end time and no duration'
            WHEN end_at < start_at THEN 'ends before it starts'
            WHEN epoch(end_at) - epoch(start_at) > {MAX_SECONDS} THEN 'the call lasts more than a day (it ends '
                || strftime(end_at, '%Y-%m-%d %H:%M') || ') - a typo in a time?'
            WHEN answer_given > end_at THEN 'answered after it ended'
            WHEN {"TRUE" if has_status else "FALSE"} AND status_outcome IS NULL AND NOT {blank_sql("disposition")}
                THEN 'unknown disposition ''' || {shape_sql("disposition")}
                     || ''' (expected one of: ' || $outcome_words || ')'
        END AS reject_reason
    FROM filled
), timed AS (
    SELECT *,
           coalesce(duration_given, CAST(epoch(end_at) - epoch(start_at) AS BIGINT)) AS duration_s,
           coalesce(
               billsec_given,
               CASE WHEN answer_given IS NOT NULL THEN CAST(epoch(end_at) - epoch(answer_given) AS BIGINT)
                    WHEN {"TRUE" if typing.talk_is_span else "FALSE"}
                        THEN CAST(epoch(end_at) - epoch(start_at) AS BIGINT)
                    ELSE 0 END
           ) AS billsec_s,
           {machine} AS ended_in_machine,
           {reached} AS reached_someone
    FROM checked
)
SELECT *,
       -- Exports that give only the talk time: it ended at the end, so it began talk seconds before;
       -- never before the call itself began (a billsec above the duration).
       CASE WHEN answer_given IS NOT NULL THEN greatest(answer_given, start_at)
            WHEN billsec_s > 0 THEN greatest(end_at - to_seconds(billsec_s), start_at) END AS answer_at,
       CASE
           WHEN coalesce(status_outcome, 'ANSWERED') = 'ANSWERED' AND billsec_s > 0 AND reached_someone
                AND NOT ended_in_machine THEN 'answered'
           WHEN status_outcome = 'ANSWERED' AND (ended_in_machine OR NOT reached_someone) THEN 'machine'
           WHEN status_outcome = 'ANSWERED' THEN 'dropped'     -- answered, but not one second of talk
           WHEN status_outcome = 'BUSY' THEN 'busy'
           WHEN status_outcome = 'NO ANSWER' OR status_outcome IS NULL THEN 'no_answer'
           ELSE 'failed'
       END AS outcome
FROM timed
"""

    def type_checks(self, typing: CallTyping) -> list[str]:
        return [outside_window_sql("start_at", "start time")]

    def new_sql(self) -> str:
        return (
            """
WITH fingerprinted AS (
    SELECT _batch, _line, caller, dialled, uniqueid, linkedid, leg_sequence, call_id, direction_hint, dcontext,
           lastapp, disposition, status_outcome, staff_phone, version_at, start_at, answer_at, end_at, duration_s,
           billsec_s, outcome, """
            + _FINGERPRINT_SQL
            + """ AS fp
    FROM _typed WHERE reject_reason IS NULL
),
     repeated AS (SELECT fp FROM fingerprinted GROUP BY fp HAVING count(*) > 1),
-- Identical records without ids inside one file are separate calls, numbered copy 1, 2, ...;
-- a record with a uniqueid, linkedid or call id is one call however often it is written.
-- A record seen once is copy 1 (no sort needed); of copies in several files, the first file's stays.
     legs AS (
    SELECT *, 1 AS occ, TRUE AS first_copy FROM fingerprinted ANTI JOIN repeated USING (fp)
    UNION ALL
    SELECT *, row_number() OVER (PARTITION BY fp, occ ORDER BY _batch, _line) = 1 AS first_copy FROM (
        SELECT *, CASE WHEN coalesce(trim(uniqueid), '') <> '' OR coalesce(trim(linkedid), '') <> ''
                            OR coalesce(trim(call_id), '') <> '' THEN 1
                       ELSE row_number() OVER (PARTITION BY _batch, fp ORDER BY _line) END AS occ
        FROM fingerprinted SEMI JOIN repeated USING (fp)
    )
)
-- The fingerprint in hex: the batch's rows are held as Arrow, which has no exact type for UHUGEINT.
SELECT l.* REPLACE (hex(l.fp) AS fp) FROM legs l
-- A stored copy starts when this record starts: only that stretch of a year's legs is read, give
-- or take a day, as the same record read in another file's clock starts some hours apart.
ANTI JOIN (SELECT record_fp, record_occ FROM call_legs
           WHERE started_at BETWEEN (SELECT min(start_at) - INTERVAL 1 DAY FROM _typed WHERE reject_reason IS NULL)
                                AND (SELECT max(start_at) + INTERVAL 1 DAY FROM _typed WHERE reject_reason IS NULL)) x
    ON x.record_fp = l.fp AND x.record_occ = l.occ
WHERE l.first_copy
"""
        )

    def insert_statements(self) -> list[str]:
        return [
            """
INSERT INTO call_legs BY NAME
WITH identified AS (
    SELECT l.*, f.file_id, f.file_key, f.format, c.class AS given_class, c.key AS given_key, c.note AS given_note,
           d.value AS dialled_value, d.class AS dialled_kind,
           -- A staff phone whatever number it shows: its caller is its own channel's device
           -- (SIP/<src>-...), or the call was placed in a staff context.
           CASE WHEN c.class IN ('external', 'unusable') AND l.staff_phone THEN 'staff device'
                WHEN c.class = 'external' AND list_contains($internal_contexts, l.dcontext) THEN 'internal context'
           END AS staff_reason
    FROM _new l
    JOIN _files f USING (_batch)
    JOIN _ids_caller c ON c.raw IS NOT DISTINCT FROM l.caller
    JOIN _ids_dialled d ON d.raw IS NOT DISTINCT FROM l.dialled
)
SELECT file_id, _line AS line, CAST('0x' || fp AS UHUGEINT) AS record_fp, occ AS record_occ, format AS source_format,
       nullif(trim(uniqueid), '') AS uniqueid, nullif(trim(linkedid), '') AS linkedid,
       TRY_CAST(leg_sequence AS BIGINT) AS leg_sequence,
       -- Asterisk ids are unique across files; an export's own call numbers only within their file,
       -- which is named by its content (not its file_id), so the ids do not depend on ingest order.
       coalesce(nullif(trim(linkedid), ''), nullif(trim(uniqueid), ''),
                'f' || file_key || ':' || coalesce(nullif(trim(call_id), ''), 'line' || _line)) AS call_ref,
       CASE WHEN staff_reason IS NULL THEN given_key END AS caller_key,
       CASE WHEN staff_reason IS NULL THEN given_class ELSE 'internal' END AS caller_class,
       coalesce(staff_reason, given_note) AS caller_note,
       dialled_value AS dialled, dialled_kind AS dialled_class,
       nullif(direction_hint, '') AS direction_hint, nullif(dcontext, '') AS dcontext, nullif(lastapp, '') AS lastapp,
       coalesce(status_outcome, nullif(upper(trim(disposition)), '')) AS disposition,
       start_at AS started_at, answer_at AS answered_at, end_at AS ended_at,
       duration_s, billsec_s, outcome = 'answered' AS answered, outcome, version_at AS record_version
FROM identified
"""
        ]

    def file_notes(
        self, scope: ArrowScope, typing: CallTyping, site: SiteSettings, clocks: dict[int, Clock]
    ) -> dict[int, list[str]]:
        unproven = [batch for batch, clock in clocks.items() if not clock.proven]
        if not unproven:
            return {}
        counts = scope.execute(
            """
            SELECT _batch, count(*) FILTER (WHERE hour(timezone($tz, start_at)) NOT BETWEEN 6 AND 21), count(*)
            FROM _typed WHERE reject_reason IS NULL AND list_contains($batches, _batch) GROUP BY _batch
        """,
            {"batches": unproven, "tz": site.timezone},
        ).fetchall()
        notes = {}
        for batch, night, total in counts:
            if note := night_note(night, total, clocks[batch]):
                notes[batch] = [note]
        return notes
