"""The judge's SQL, written once for DuckDB, compiled for Spark SQL.

Rule kinds, episodes and the flag rows keep one SQL text each. `to_spark` inlines the bound
parameters as typed literals (Spark's window frames need literal bounds), parses the statement
with sqlglot as DuckDB, rewrites what the two engines spell or mean differently, and writes it
for Spark. What sqlglot's own translation gets wrong for this SQL, each checked against DuckDB
by tests/test_spark.py:

- an interval frame, `RANGE BETWEEN to_seconds(n) PRECEDING`, must be a literal INTERVAL;
- `count(DISTINCT x) OVER w` does not exist in Spark: `size(collect_set(x) OVER w)`;
- `epoch(ts)` keeps its fractions (`unix_micros`), and `epoch_ms(ts)` is `unix_millis`, not a
  conversion the other way;
- `arg_max(x, key)` skips rows whose x is NULL and `arg_max_null` keeps them: `max_by` with the key
  switched off, or not; tuple keys are structs;
- `list_position` is `array_position`, which says 0 where DuckDB says NULL;
- `list(x ORDER BY a, b)`: Spark's collect_list has no order, so the list is sorted on (a, b);
- `round(x, n)` is refused: DuckDB rounds a double's binary value (34.65 is 34.6499... and gives
  34.6), Spark the decimal it prints (34.7); round(x * 10^n) agrees in both;
- a decimal literal such as 60.0 is DECIMAL in Spark, which would round a division to 6 places:
  it is a DOUBLE, as in DuckDB; an untyped NULL column is a STRING.

The translation is by name, not by type: `epoch_ms` and `timezone()` also have overloads that do
the reverse (number to timestamp, wall clock to instant). The judge uses `epoch_ms` on timestamps
only, and its time zone conversions go through `prepare.Clock`, which names the direction.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import sqlglot
from sqlglot import exp

# DuckDB's interval constructors of a number, in seconds per unit.
_INTERVALS = {"to_seconds": 1, "to_minutes": 60, "to_hours": 3600, "to_days": 86400}


class SparkTranslationError(ValueError):
    """The judge's SQL uses something this translation does not know how to write for Spark."""


def to_spark(sql: str, params: dict[str, Any] | None = None) -> str:
    """`sql` (DuckDB, with $name parameters) as one Spark SQL statement with the values inlined."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    values = params or {}
    tree = tree.transform(lambda node: _inline(node, values))
    tree = tree.transform(_rewrite)
    return tree.sql(dialect="spark")


def _inline(node: exp.Expression, params: dict[str, Any]) -> exp.Expression:
    if isinstance(node, exp.Placeholder) and node.name:
        if node.name not in params:
            raise SparkTranslationError(f"no value for the parameter ${node.name}")
        return literal(params[node.name])
    return node


def literal(value: Any) -> exp.Expression:
    """A Spark literal of the value's own type: floats stay DOUBLE, lists of strings ARRAY<STRING>."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        if not math.isfinite(value):  # a tier of inf (TOML allows it): Spark reads it from a string
            return exp.cast(
                exp.Literal.string("NaN" if math.isnan(value) else f"{value:+}".replace("inf", "Infinity")), "DOUBLE"
            )
        return exp.cast(exp.Literal.number(repr(value)), "DOUBLE")
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, (list, tuple)):
        items = exp.Array(expressions=[literal(item) for item in value])
        # strings typed even when there are none: an empty ARRAY() would hold nothing comparable
        return exp.cast(items, "ARRAY<STRING>") if all(isinstance(item, str) for item in value) else items
    raise SparkTranslationError(f"cannot write {value!r} ({type(value).__name__}) as a Spark literal")


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        args = node.expressions
        if name in _INTERVALS:
            return _interval(args[0], _INTERVALS[name], name)
        if name == "list_position":
            return exp.Nullif(
                this=exp.Anonymous(this="array_position", expressions=args), expression=exp.Literal.number(0)
            )
        if name == "arg_max_null":
            return exp.Anonymous(this="max_by", expressions=[args[0], _key(args[1])])
        if name == "timezone":  # which way it converts depends on its argument's type, unseen here
            raise SparkTranslationError("timezone() is ambiguous for Spark: convert through prepare.Clock")
    if isinstance(node, exp.ArgMax):
        value, key = node.this, _key(node.expression)
        # DuckDB's arg_max skips rows whose value is NULL; Spark's max_by would return one
        kept = exp.Case(ifs=[exp.If(this=exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())), true=key)])
        return exp.Anonymous(this="max_by", expressions=[value, kept])
    if isinstance(node, exp.Window) and isinstance(node.this, exp.Count) and isinstance(node.this.this, exp.Distinct):
        counted = node.this.this.expressions
        if len(counted) != 1:
            raise SparkTranslationError("count(DISTINCT ...) OVER takes one expression in Spark")
        window = node.copy()
        window.set("this", exp.Anonymous(this="collect_set", expressions=[counted[0]]))
        return exp.Anonymous(this="size", expressions=[window])
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None:
        raise SparkTranslationError(
            f"{node.sql(dialect='duckdb')}: DuckDB and Spark round a double to places differently; "
            "round(x * 10^n) agrees in both"
        )
    if isinstance(node, exp.TimeToUnix):  # DuckDB's epoch(ts): seconds with their fractions
        micros = exp.cast(exp.Anonymous(this="unix_micros", expressions=[node.this]), "DOUBLE")
        return exp.Div(this=micros, expression=exp.Literal.number(1000000))
    if isinstance(node, exp.UnixToTime) and node.args.get("scale") is not None:
        # sqlglot reads DuckDB's epoch_ms(x) as milliseconds to a timestamp; the judge means the reverse
        return exp.Anonymous(this="unix_millis", expressions=[node.this])
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_list(node.this)
    if isinstance(node, exp.Literal) and not node.is_string and any(c in node.this.lower() for c in ".e"):
        if not (isinstance(node.parent, exp.Cast) and node.parent.to.is_type("double")):
            return exp.cast(node.copy(), "DOUBLE")
    if isinstance(node, exp.Array) and not node.expressions:
        return exp.cast(node.copy(), "ARRAY<STRING>")
    if isinstance(node, exp.Alias) and isinstance(node.this, exp.Null):
        return exp.Alias(this=exp.cast(exp.Null(), "STRING"), alias=exp.to_identifier(node.alias))
    return node


def _key(key: exp.Expression) -> exp.Expression:
    """A sort key of several values (a DuckDB tuple) as a Spark struct, compared field by field."""
    if isinstance(key, exp.Tuple):
        return exp.Anonymous(this="struct", expressions=list(key.expressions))
    return key


def _interval(argument: exp.Expression, seconds_per_unit: int, name: str) -> exp.Expression:
    try:
        seconds = _constant(argument) * seconds_per_unit
    except SparkTranslationError as exc:
        raise SparkTranslationError(f"{name}() needs a constant for Spark's window frames: {exc}") from None
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return exp.Interval(this=exp.Literal.string(text), unit=exp.var("SECOND"))


def _constant(node: exp.Expression) -> float:
    """The value of a constant arithmetic expression of inlined numbers."""
    if isinstance(node, exp.Literal) and not node.is_string:
        return float(node.this)
    if isinstance(node, (exp.Cast, exp.Paren)):
        return _constant(node.this)
    if isinstance(node, exp.Neg):
        return -_constant(node.this)
    operations = {exp.Mul: float.__mul__, exp.Div: float.__truediv__, exp.Add: float.__add__, exp.Sub: float.__sub__}
    for kind, operation in operations.items():
        if isinstance(node, kind):
            return operation(_constant(node.this), _constant(node.expression))
    raise SparkTranslationError(f"{node.sql(dialect='duckdb')} is not a constant")


def _ordered_list(order: exp.Order) -> exp.Expression:
    """DuckDB's list(x ORDER BY a, b) as the sorted list of (a, b, x), keeping x."""
    fields: list[exp.Expression] = []
    for number, ordered in enumerate(order.expressions):
        if ordered.args.get("desc"):
            raise SparkTranslationError("an ordered list() sorts ascending only in this translation")
        fields += [exp.Literal.string(f"k{number}"), ordered.this]
    fields += [exp.Literal.string("v"), order.this]
    collected = exp.Anonymous(this="collect_list", expressions=[exp.Anonymous(this="named_struct", expressions=fields)])
    element = exp.to_identifier("item")
    keep_value = exp.Lambda(
        this=exp.Dot(this=exp.column(element), expression=exp.to_identifier("v")), expressions=[element]
    )
    return exp.Anonymous(
        this="transform", expressions=[exp.Anonymous(this="array_sort", expressions=[collected]), keep_value]
    )
