"""SQL that turns exported time and duration text into instants and seconds, for every store.

A time is read, in this order: as written with the file's formats, in the file's clock zone; the
same after full-width digits are made ASCII; as an epoch (when the formats allow one); and as an
ISO time carrying its own offset or `Z`, which is honoured whatever the clock. Each step only runs
on values the ones before could not read (COALESCE is lazy), so the common case costs one parse.
"""

from __future__ import annotations

from collections import Counter

from ..common.sqltext import sql_list, sql_string

# Special time formats: epoch seconds ("%s", as in date(1), or "epoch") and milliseconds.
EPOCH_SECONDS = ("%s", "epoch")
EPOCH_MILLISECONDS = ("%ms", "epoch_ms")
EPOCH_FORMATS = EPOCH_SECONDS + EPOCH_MILLISECONDS

_EPOCH_YEAR_3000 = 32_503_680_000  # an epoch beyond is no time at all (and beyond what DuckDB converts)

FULLWIDTH = ("０１２３４５６７８９／：－　", "0123456789/:- ")

# A time that ends in an offset or Z: 2026-09-01T01:00:00Z, 2026-09-01 10:00:00+09:00, ...+0900.
_OFFSET_PATTERN = r"^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"


def split_time_formats(formats: tuple[str, ...]) -> tuple[list[str], list[str], int | None]:
    """(naive strptime formats, formats with an offset (%z), epoch divisor: 1 for seconds, 1000 for
    milliseconds, None for no epoch)."""
    strptime = [f for f in formats if f not in EPOCH_FORMATS]
    naive = [f for f in strptime if "%z" not in f and "%Z" not in f]
    aware = [f for f in strptime if f not in naive]
    divisor = (
        1000
        if any(f in EPOCH_MILLISECONDS for f in formats)
        else 1
        if any(f in EPOCH_SECONDS for f in formats)
        else None
    )
    return naive, aware, divisor


def ascii_sql(column: str) -> str:
    """The value with full-width digits and separators made ASCII, trimmed."""
    return f"trim(translate(coalesce({column}, ''), {sql_string(FULLWIDTH[0])}, {sql_string(FULLWIDTH[1])}))"


def instant_sql(
    column: str, formats: tuple[str, ...], zone_param: str = "$clock_zone", formats_param: str = "$time_formats"
) -> str:
    """A TIMESTAMPTZ from exported text, NULL when it is none of the forms above."""
    naive, aware, divisor = split_time_formats(formats)
    steps = []
    if naive:
        steps.append(f"timezone({zone_param}, {strptime_sql(column, naive)})")
        steps.append(f"timezone({zone_param}, try_strptime({ascii_sql(column)}, {formats_param}))")
    if aware:  # formats that read the offset the time is written with (RFC 2822: ... +0000)
        steps.append(f"try_strptime({column}, {sql_list(aware)})")
    if divisor is not None:
        # 0 is "not set" (CUCM's dateTimeConnect of a call never connected): no time at all.
        steps.append(
            f"CASE WHEN regexp_full_match(trim({column}), '\\d{{1,13}}(\\.\\d+)?') "
            f"AND TRY_CAST(trim({column}) AS DOUBLE) / {divisor} BETWEEN 1 AND {_EPOCH_YEAR_3000} "
            f"THEN to_timestamp(TRY_CAST(trim({column}) AS DOUBLE) / {divisor}) END"
        )
    steps.append(
        f"CASE WHEN regexp_full_match(trim({column}), {sql_string(_OFFSET_PATTERN)}) "
        f"THEN TRY_CAST(trim({column}) AS TIMESTAMPTZ) END"
    )
    # An empty value (a call never answered) is no time: without this test it would go through
    # every step, each failing slowly.
    return f"CASE WHEN {column} <> '' THEN coalesce({', '.join(steps)}) END"


def strptime_sql(column: str, formats: list[str]) -> str:
    """`try_strptime(column, formats)`, the first format that reads the value, tried only where the
    value holds every character the format writes as itself (its `-`, `/`, `:`): a format that
    fails costs DuckDB a microsecond a value, most of the time of reading `2026-09-01 10:15` with
    the formats with seconds first."""
    tries = []
    for time_format in formats:
        parse = f"try_strptime({column}, {sql_string(time_format)})"
        needed = [
            f"contains({column}, {sql_string(char)})"
            if count == 1
            else f"length({column}) - length(replace({column}, {sql_string(char)}, '')) >= {count}"
            for char, count in sorted(literal_characters(time_format).items())
        ]
        tries.append(f"CASE WHEN {' AND '.join(needed)} THEN {parse} END" if needed else parse)
    return tries[0] if len(tries) == 1 else f"coalesce({', '.join(tries)})"


def literal_characters(time_format: str) -> Counter[str]:
    """How often a strptime format writes each character as itself: not a field (%Y, %-m, ...), and
    not white space, which DuckDB matches loosely. A value missing one of them cannot be read."""
    counts: Counter[str] = Counter()
    position = 0
    while position < len(time_format):
        char = time_format[position]
        if char == "%" and time_format[position + 1 : position + 2] == "%":
            counts["%"] += 1
            position += 2
        elif char == "%":  # a field: its flags (such as the - of %-m) and its letter
            position += 1
            while position < len(time_format) and not time_format[position].isalpha():
                position += 1
            position += 1
        else:
            if not char.isspace():
                counts[char] += 1
            position += 1
    return counts


def blank_time_sql(column: str, formats: tuple[str, ...]) -> str:
    """Empty, spaces, an NTT-style `**********` (never connected), or 0 where times are epochs."""
    zero = f" OR trim(coalesce({column}, '')) = '0'" if split_time_formats(formats)[2] else ""
    return f"(regexp_full_match(coalesce({column}, ''), '\\s*(\\*\\*\\*\\*.*)?'){zero})"


def blank_sql(column: str) -> str:
    return f"regexp_full_match(coalesce({column}, ''), '\\s*(\\*\\*\\*\\*.*)?')"


DURATION_FORMATS = ("seconds", "hms", "ms", "minutes")
DURATION_EXAMPLES = {"seconds": "seconds such as 125", "minutes": "whole minutes", "hms": "H:MM:SS", "ms": "MM:SS"}


def seconds_sql(column: str, duration_format: str) -> str:
    """Whole seconds from a duration as the export writes it; NULL when it is not in that form."""
    if duration_format in ("seconds", "minutes"):
        factor = " * 60" if duration_format == "minutes" else ""
        return f"coalesce(TRY_CAST({column} AS BIGINT), TRY_CAST({ascii_sql(column)} AS BIGINT)){factor}"
    value = ascii_sql(column)
    if duration_format == "hms":
        return (
            f"CASE WHEN regexp_full_match({value}, '\\d{{1,9}}:\\d{{1,2}}:\\d{{1,2}}') THEN "
            f"CAST(split_part({value}, ':', 1) AS BIGINT) * 3600 + CAST(split_part({value}, ':', 2) AS BIGINT) * 60 "
            f"+ CAST(split_part({value}, ':', 3) AS BIGINT) END"
        )
    if duration_format == "ms":
        return (
            f"CASE WHEN regexp_full_match({value}, '\\d{{1,9}}:\\d{{1,2}}') THEN "
            f"CAST(split_part({value}, ':', 1) AS BIGINT) * 60 + CAST(split_part({value}, ':', 2) AS BIGINT) END"
        )
    raise ValueError(f"unknown duration format {duration_format}")


# The longest a call or a visit can last: anything longer is a typo or a damaged value.
MAX_SECONDS = 86_400


def outside_window_sql(column: str, what: str) -> str:
    """A check (stores/base.py) rejecting rows of _typed whose `column` lies further than $plausible_years
    from the median of their file's `column`: a 2126 among 2026s is a typo, never a record to keep."""
    return f"""
SELECT t._batch, t._line, '{what} ' || strftime(t.{column}, '%Y-%m-%d %H:%M') || ' is more than '
    || $plausible_years || ' years from this file''s other records (around ' || strftime(w.middle, '%Y-%m-%d')
    || ') - a typo? correct it and ingest the row again' AS reason
FROM _typed t
JOIN (SELECT _batch, to_timestamp(median(epoch({column}))) AS middle FROM _typed
      WHERE reject_reason IS NULL GROUP BY _batch) w ON t._batch = w._batch
WHERE t.reject_reason IS NULL AND abs(epoch(t.{column}) - epoch(w.middle)) > $plausible_years * 365.25 * 86400
"""
