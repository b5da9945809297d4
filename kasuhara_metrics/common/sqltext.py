"""One way to build SQL text.

Values travel as bound parameters (`$name`), always. Statements are composed with f-strings from
named, trusted pieces: column lists, fragments returned by functions such as `instant_sql`, never
text from a file. What cannot be a parameter (a `SET` value, a literal list inside a view or a
`CASE`) is quoted here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable


def sql_string(text: str) -> str:
    """`text` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql_list(values: Iterable[str]) -> str:
    """`values` as an SQL list literal of strings: ['a', 'b']."""
    return "[" + ", ".join(sql_string(value) for value in values) + "]"


def site_day_start_sql(param: str) -> str:
    """The start of the day bound as `$param` (a date) in the session's zone, which is the site's."""
    return f"timezone(current_setting('TimeZone'), CAST(${param} AS TIMESTAMP))"


def insert_values_sql(table: str, columns: Iterable[str]) -> str:
    """INSERT of one row by column name, each value bound as `$column`."""
    names = list(columns)
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('$' + name for name in names)})"
