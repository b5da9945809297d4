"""Reception and counter logs in the canonical visits CSV.

Header (any order): visit_id,arrived_at,ended_at,department,kind,topic,phone,requester_ref,
exit_requested_at,summary. visit_id and arrived_at are required. UTF-8 (with or without BOM) and
CP932 are told apart by the bytes. Times are site-local unless [site.clock] visits says otherwise
or a time carries its own offset.
"""

from __future__ import annotations

import pyarrow as pa

from ...common.errors import InputFileError, SourceLocation
from ..csvread import LINE_COLUMN, BadLine, read_csv_rows
from ..stores.visits import VISIT_COLUMNS
from .base import IngestOptions, Sample, Source, Staged, staged_from_csv

REQUIRED_COLUMNS = ("visit_id", "arrived_at")


class Visits(Source):
    name = "visits"
    record_kind = "visits"
    description = "visits CSV with the header visit_id,arrived_at,..."

    def recognise(self, sample: Sample) -> bool:
        return bool(sample.rows) and "visit_id" in [f.strip().lower() for f in sample.rows[0][1]]

    def read(self, path: str, raw: bytes, options: IngestOptions) -> Staged:
        parsed = read_csv_rows(path, raw, header=True, encoding=options.encoding)
        header = [name.strip().lower() for name in parsed.header or []]
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise InputFileError(
                f"{path} has no {missing[0]} column - a visits file starts with the header {','.join(VISIT_COLUMNS)}",
                SourceLocation(path, 1),
            )
        columns = {name: parsed.table[f"c{header.index(name)}"] for name in VISIT_COLUMNS if name in header}
        length = parsed.table.num_rows
        table = {name: columns.get(name, pa.nulls(length, pa.string())) for name in VISIT_COLUMNS}
        table[LINE_COLUMN] = parsed.table[LINE_COLUMN]
        rejects = list(parsed.bad_lines) + [
            BadLine(odd.line, odd.raw, f"has {len(odd.fields)} fields; the header has {len(header)}")
            for odd in parsed.odd_rows
        ]
        staged = staged_from_csv(parsed, self.name, "visits-csv", pa.table(table), self.clock(options.site), rejects)
        unknown = [name for name in header if name not in VISIT_COLUMNS]
        if unknown:
            staged.notes.append(f"ignored unknown columns: {', '.join(unknown)}")
        return staged
