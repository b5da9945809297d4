"""The record kinds and their stores: how staged rows become stored calls, visits and departments."""

from __future__ import annotations

from .base import RecordStore
from .calls import CallStore
from .departments import DepartmentStore
from .visits import VisitStore

STORES: dict[str, RecordStore] = {store.kind: store for store in (CallStore(), VisitStore(), DepartmentStore())}
RECORD_KINDS = tuple(STORES)

__all__ = ["RECORD_KINDS", "STORES", "RecordStore"]
