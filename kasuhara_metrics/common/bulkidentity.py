"""Caller values classified and pseudonymised at column speed, in DuckDB.

An ingest meets every distinct caller value of its files, 400,000 of them in a busy ward's year;
one Python call per value took most of the ingest. Most values are plain digits: an extension, or
a Japanese number in national form (0XXXXXXXXX). For those, SQL does what `identity.classify_number`
does, with phonenumbers' own JP patterns (they are RE2-compatible, so DuckDB runs them as they are)
and the keyed pseudonym as HMAC-SHA256 from the secret's pads (RFC 2104). Every other value (names,
URIs, +81..., full-width digits, withheld words) goes through `identity.identify_each`, one by one,
and the two give the same table: tests/test_bulk_identity.py checks it on generated values.
"""

from __future__ import annotations

import functools
import hashlib

import duckdb
import pyarrow as pa

from . import arrays
from .identity import JP_NUMBERS, WITHHELD_WORDS, Pseudonymizer, identify_each, staff_numbers
from .site import SiteSettings
from .sqltext import sql_string

_COLUMNS = ("raw", "class", "key", "canonical", "note")


def _pattern_sql(value: str, compiled: tuple) -> str:
    """SQL for `RegionPatterns._matches`: the pattern, within the possible lengths."""
    pattern, lengths = compiled
    if pattern is None:
        return "FALSE"
    length = f"length({value}) IN ({', '.join(map(str, sorted(lengths)))}) AND " if lengths else ""
    return f"({length}regexp_full_match({value}, {sql_string(pattern.pattern)}))"


def _valid_jp_sql(value: str) -> str:
    """SQL for `JP_NUMBERS.is_valid`: the general pattern and any one type's."""
    types = " OR ".join(_pattern_sql(value, t) for t in JP_NUMBERS.types) or "FALSE"
    return f"({_pattern_sql(value, JP_NUMBERS.general)} AND ({types}))"


def _classified_sql(site: SiteSettings) -> str:
    """Plain-digit values as `identity._classify_digits` reads them; the rest is left to Python."""
    prefix = site.outside_line_prefix
    digits = (
        f"CASE WHEN starts_with(raw, {sql_string(prefix + '0')}) THEN substr(raw, {len(prefix) + 1}) ELSE raw END"
        if prefix
        else "raw"
    )
    japan = "TRUE" if site.region == "JP" else "FALSE"
    return f"""
        WITH plain AS (
            SELECT raw, {digits} AS digits FROM _values
            WHERE regexp_full_match(raw, '[0-9]+') AND ltrim(raw, '0') <> ''
              AND NOT list_contains($withheld_digits, raw)
        ), formed AS (
            SELECT raw, substr(digits, 2) AS nsn,
                   CASE WHEN length(raw) <= {int(site.internal_max_digits)} THEN 'extension'
                        WHEN {japan} AND length(digits) IN (10, 11) AND digits[1] = '0' AND digits[2] <> '0'
                             AND NOT starts_with(digits, '010') THEN 'national'
                   END AS form
            FROM plain
        ), checked AS (
            SELECT *, form = 'national' AND {_valid_jp_sql("nsn")} AS valid FROM formed WHERE form IS NOT NULL
        )
        SELECT raw,
               CASE WHEN form = 'extension' THEN 'internal' WHEN valid THEN 'external' ELSE 'unusable' END AS class,
               CASE WHEN form = 'extension' THEN raw WHEN valid THEN '+81' || nsn END AS canonical,
               CASE WHEN form = 'extension' THEN 'extension' WHEN NOT valid THEN 'invalid phone number' END AS note
        FROM checked
    """


@functools.cache
def _scratch_database() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for the classification, opened once per process: an open and a close
    cost ~25 ms, and a year of files is stored in dozens of batches, each classifying its values.
    Each call works in a cursor of its own: its temp tables and registrations go when it closes."""
    return duckdb.connect()


# Values already identified in this process, for one site and secret at a time: the batches of a
# run meet the same callers again and again (a 1M-record year: 59,000 distinct callers, 54,000 in
# each of its four batches). Held in the scratch database, never in the ward's, and let go beyond
# this many rows.
_KNOWN_TABLE = "known"
_KNOWN_MAX_ROWS = 2_000_000
_known_for: list[str] = []  # the site and secret the known table was filled for


def _known_values(con: duckdb.DuckDBPyConnection, site: SiteSettings, inner: bytes) -> None:
    """Make the known table hold values of this site and secret only, and not too many."""
    owner = repr(site) + hashlib.sha256(inner).hexdigest()  # the secret itself is not kept here
    stale = _known_for != [owner] or (
        con.execute(f"SELECT count(*) FROM {_KNOWN_TABLE}").fetchall()[0][0] > _KNOWN_MAX_ROWS
    )
    if stale:
        columns = ", ".join(f"{name} VARCHAR" for name in _COLUMNS)
        con.execute(f"CREATE OR REPLACE TABLE {_KNOWN_TABLE} ({columns})")
        _known_for[:] = [owner]


def identify_values(values: list[str | None], site: SiteSettings, pseudo: Pseudonymizer) -> pa.Table:
    """Classify distinct raw values; an Arrow table of raw -> class, key, canonical, note.

    The same table as `identity.identify_each`, in the same order, computed mostly in SQL, and
    only once per process for a value met before with the same site and secret.
    """
    inner, outer = pseudo.hmac_pads()
    staff = sorted(staff_numbers(site))
    con = _scratch_database().cursor()
    try:
        _known_values(con, site, inner)
        positions = arrays.numbers(range(len(values)))
        con.register("_given", pa.table({"raw": arrays.strings(values), "position": positions}))
        con.execute(
            f"""
            CREATE TEMP TABLE _values AS
            SELECT DISTINCT g.raw FROM _given g ANTI JOIN {_KNOWN_TABLE} k ON k.raw IS NOT DISTINCT FROM g.raw
            """
        )
        con.execute(
            f"""
            CREATE TEMP TABLE _fast AS
            WITH classified AS ({_classified_sql(site)}),
            -- A staff member's phone that looks like an outside number is staff, never a requester.
            marked AS (SELECT *, class = 'external' AND list_contains($staff, canonical) AS staff FROM classified)
            SELECT raw,
                   CASE WHEN staff THEN 'internal' ELSE class END AS class,
                   CASE WHEN staff THEN NULL ELSE canonical END AS canonical,
                   CASE WHEN staff THEN 'staff number' ELSE note END AS note
            FROM marked
            """,
            {"staff": staff, "withheld_digits": sorted(word for word in WITHHELD_WORDS if word.isdigit())},
        )
        rest = [row[0] for row in con.execute("SELECT raw FROM _values ANTI JOIN _fast USING (raw)").fetchall()]
        con.register("_rest", identify_each(rest, site, pseudo))
        # 'R' + 16 hex of HMAC-SHA256(secret, 'tel:' + E.164): byte for byte Pseudonymizer.key.
        con.execute(
            f"""
            INSERT INTO {_KNOWN_TABLE}
            WITH fast AS (
                SELECT raw, class,
                       CASE WHEN class = 'external'
                            THEN 'R' || left(sha256($outer || unhex(sha256($inner || encode('tel:' || canonical)))), 16)
                       END AS key,
                       canonical, note
                FROM _fast
            )
            SELECT {", ".join(_COLUMNS)} FROM fast UNION ALL SELECT {", ".join(_COLUMNS)} FROM _rest
            """,
            {"inner": inner, "outer": outer},
        )
        return con.sql(
            f"""
            SELECT k.{", k.".join(_COLUMNS)}
            FROM _given g JOIN {_KNOWN_TABLE} k ON k.raw IS NOT DISTINCT FROM g.raw
            ORDER BY g.position
            """
        ).to_arrow_table()
    finally:
        con.close()


def identify_phones(values: list[str | None], site: SiteSettings, pseudo: Pseudonymizer) -> pa.Table:
    """Visitors' phones: as callers, a blank phone being no phone at all."""
    phones = [v if v and v.strip() else None for v in values]
    distinct = list(dict.fromkeys(phones))  # blanks are one None: identify_values takes distinct values
    position = {phone: n for n, phone in enumerate(distinct)}
    table = identify_values(distinct, site, pseudo).take(arrays.numbers([position[p] for p in phones]))
    return table.set_column(0, "raw", arrays.strings(values))
