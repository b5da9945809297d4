"""Ingest: export files -> stored legs, visits and departments, then contacts.

`ingest_files` is the library call behind `kasuhara ingest calls|visits|departments`:
sources/ recognise and read each kind of export, stores/ type and store each record kind, and
driver.py runs the same batch steps for all of them.
"""

from .driver import IngestReport, ingest_files
from .sources import SOURCES, IngestOptions
from .stores import RECORD_KINDS

__all__ = ["RECORD_KINDS", "SOURCES", "IngestOptions", "IngestReport", "ingest_files"]
