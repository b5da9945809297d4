"""Arrow arrays and scalars from Python values, built without importing pandas.

pyarrow checks every Python value it converts (`pa.array`, `pa.scalar`, a compute function given
a Python scalar) against pandas' types, and so imports pandas on the first conversion of a process
(apache/arrow#34994): 0.2-0.3 s, more than a nightly increment's judge. No command of this package
uses pandas, so the values a run converts go through Arrow's string builder or numpy's buffers.
tests/test_samples.py runs every command of the demo and checks that none imports pandas.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

INT64 = pa.int64()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# The numpy type whose buffer is the Arrow type's buffer.
_NUMPY_TYPES = {
    pa.int32(): np.int32,
    pa.int64(): np.int64,
    pa.uint64(): np.uint64,
    pa.float64(): np.float64,
}


def strings(values: Iterable[str | None]) -> pa.Array:
    """A string array; None is null."""
    builder = pa.lib.StringBuilder()
    builder.append_values(values)
    return builder.finish()


def numbers(values: Iterable[int | float | None] | np.ndarray, type: pa.DataType = INT64) -> pa.Array:
    """An int32, int64, uint64 or float64 array from Python numbers (None is null) or a numpy array."""
    dtype = _NUMPY_TYPES[type]
    if isinstance(values, np.ndarray):
        data, valid = np.ascontiguousarray(values, dtype=dtype), None
    else:
        items = list(values)
        data = np.array([0 if v is None else v for v in items], dtype=dtype)
        valid = None if None not in items else np.array([v is not None for v in items], dtype=bool)
    return pa.Array.from_buffers(type, len(data), [_bitmap(valid), pa.py_buffer(data)])


def booleans(values: Iterable[bool] | np.ndarray) -> pa.Array:
    """A boolean array (no nulls), for a filter mask."""
    data = values if isinstance(values, np.ndarray) else np.fromiter(values, dtype=bool)
    return pa.Array.from_buffers(pa.bool_(), len(data), [None, _bitmap(data)])


def times(values: Iterable[datetime | None]) -> pa.Array:
    """A timestamp[us, UTC] array from time-zone-aware datetimes (a naive one is an error)."""
    micros = [None if t is None else (t - _EPOCH) // _MICROSECOND for t in values]
    return numbers(micros).view(pa.timestamp("us", tz="UTC"))


# Scalars, for a compute function's constant arguments.
def string(value: str | None) -> pa.Scalar:
    return strings([value])[0]


def number(value: int | float | None, type: pa.DataType = INT64) -> pa.Scalar:
    return numbers([value], type)[0]


def boolean(value: bool) -> pa.Scalar:
    return booleans([value])[0]


def _bitmap(bits: np.ndarray | None) -> pa.Buffer | None:
    return None if bits is None else pa.py_buffer(np.packbits(bits.astype(bool, copy=False), bitorder="little"))
