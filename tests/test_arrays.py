"""common/arrays.py: Arrow arrays built without pandas equal pyarrow's own conversion of the same values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kasuhara_metrics.common import arrays

INT64 = st.integers(-(2**63), 2**63 - 1)


@given(st.lists(st.none() | st.text()))
def test_strings_equal_pyarrows_conversion(values):
    built = arrays.strings(values)
    built.validate(full=True)
    assert built.equals(pa.array(values, pa.string()))


@pytest.mark.parametrize(
    ("type_", "numbers"),
    [
        (pa.int64(), INT64),
        (pa.int32(), st.integers(-(2**31), 2**31 - 1)),
        (pa.uint64(), st.integers(0, 2**64 - 1)),
        (pa.float64(), st.floats(allow_nan=False)),
    ],
)
@given(data=st.data())
def test_numbers_equal_pyarrows_conversion(type_, numbers, data):
    values = data.draw(st.lists(st.none() | numbers))
    built = arrays.numbers(values, type_)
    built.validate(full=True)
    assert built.equals(pa.array(values, type_)) and built.null_count == values.count(None)
    present = [v for v in values if v is not None]
    assert arrays.numbers(np.array(present, dtype=type_.to_pandas_dtype()), type_).equals(pa.array(present, type_))


@given(st.lists(st.booleans()))
def test_booleans_equal_pyarrows_conversion(values):
    assert arrays.booleans(values).equals(pa.array(values, pa.bool_()))
    assert arrays.booleans(np.array(values, dtype=bool)).equals(pa.array(values, pa.bool_()))


# From 0001-01-02: midnight of 0001-01-01 at +09:00 is an instant before year 1 in UTC, which
# Python's datetime (and so the comparison) cannot hold.
_INSTANTS = st.datetimes(min_value=datetime(1, 1, 2), timezones=st.sampled_from([UTC, timezone(timedelta(hours=9))]))


@given(st.lists(st.none() | _INSTANTS))
@example([datetime(1, 1, 2, tzinfo=timezone(timedelta(hours=9))), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)])
def test_times_are_the_same_instants_in_utc(values):
    built = arrays.times(values)
    assert built.type == pa.timestamp("us", tz="UTC")
    assert built.to_pylist() == [None if t is None else t.astimezone(UTC) for t in values]


def test_a_naive_time_is_an_error_not_a_guess():
    with pytest.raises(TypeError):
        arrays.times([datetime(2026, 12, 1, 9, 0)])


def test_scalars_for_compute_functions():
    assert arrays.string("a").equals(pa.scalar("a", pa.string()))
    assert not arrays.string(None).is_valid and arrays.string(None).type == pa.string()
    assert arrays.number(120).equals(pa.scalar(120, pa.int64()))
    assert arrays.boolean(False).equals(pa.scalar(False))
