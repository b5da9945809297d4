"""Which department a dialled extension or DID reaches: CSV `number,department` (header optional)."""

from __future__ import annotations

from ..csvread import BadLine, read_csv_rows, sample_rows
from ..encoding import to_utf8
from .base import IngestOptions, Sample, Source, Staged, staged_from_csv


def _has_header(rows: list[tuple[int, list[str]]]) -> bool:
    return bool(rows) and [f.strip().lower() for f in rows[0][1][:2]] == ["number", "department"]


class Departments(Source):
    name = "departments"
    record_kind = "departments"
    description = "departments CSV: number,department"

    def recognise(self, sample: Sample) -> bool:
        return _has_header(sample.rows)

    def read(self, path: str, raw: bytes, options: IngestOptions) -> Staged:
        decoded = to_utf8(raw, path, options.encoding)
        header = _has_header(sample_rows(decoded.data, limit=1))
        parsed = (
            read_csv_rows(path, raw, header=True, decoded=decoded)
            if header
            else read_csv_rows(path, raw, column_count=2, decoded=decoded)
        )
        rejects = list(parsed.bad_lines) + [
            BadLine(o.line, o.raw, f"has {len(o.fields)} fields; expected number,department") for o in parsed.odd_rows
        ]
        table = parsed.table.select(["c0", "c1", "_line"])
        return staged_from_csv(parsed, self.name, "departments-csv", table, self.clock(options.site), rejects)
