"""Which department a dialled extension or DID reaches: CSV `number,department` (header optional).

A later file updates the mapping: a number's department is the one most recently ingested.
Full numbers are stored in E.164, and their pseudonyms too, so that a call *from* one of the
ward's own numbers is recognised as staff.
"""

from __future__ import annotations

import pyarrow as pa

from ..db import Database
from ..identity import Pseudonymizer, classify_number
from ..site import SiteSettings
from .csvread import LINE_COLUMN, BadLine, ParsedFile, read_csv_rows, sample_rows
from .encoding import to_utf8
from .filelog import FileResult, write_rejects


def read_departments(path: str, raw: bytes, encoding: str = "auto") -> ParsedFile:
    decoded = to_utf8(raw, path, encoding)
    first = sample_rows(decoded.data, limit=1)
    has_header = bool(first) and [f.strip().lower() for f in first[0][1][:2]] == ["number", "department"]
    if has_header:
        return read_csv_rows(path, raw, header=True, decoded=decoded)
    return read_csv_rows(path, raw, column_count=2, decoded=decoded)


def store_departments(
    db: Database, parsed: ParsedFile, result: FileResult, site: SiteSettings, pseudo: Pseudonymizer
) -> None:
    rejects = list(parsed.bad_lines)
    rejects.extend(BadLine(o.line, o.raw, f"has {len(o.fields)} fields; expected number,department") for o in parsed.odd_rows)
    numbers, keys, names, lines = [], [], [], []
    seen: dict[str, tuple[str, int]] = {}
    duplicates = 0
    raw_lines = parsed.raw_lines(set(parsed.table[LINE_COLUMN].to_pylist()))
    for row in parsed.table.to_pylist():
        line, number, department = row[LINE_COLUMN], row["c0"].strip(), row["c1"].strip()
        identity = classify_number(number, site)
        if not department:
            rejects.append(BadLine(line, raw_lines.get(line, ""), "no department name"))
            continue
        if identity.caller_class not in ("internal", "external"):
            rejects.append(BadLine(line, raw_lines.get(line, ""), f"'{number}' is not an extension or phone number"))
            continue
        canonical = identity.canonical
        if canonical in seen:
            if seen[canonical][0] == department:
                duplicates += 1
            else:
                rejects.append(BadLine(line, raw_lines.get(line, ""),
                                       f"{number} is mapped to {seen[canonical][0]} on line {seen[canonical][1]} already"))
            continue
        seen[canonical] = (department, line)
        numbers.append(canonical)
        keys.append(pseudo.key(canonical) if identity.caller_class == "external" else None)
        names.append(department)
        lines.append(line)
    con = db.con
    con.register("_deps", pa.table({"number": pa.array(numbers, pa.string()), "number_key": pa.array(keys, pa.string()),
                                   "department": pa.array(names, pa.string())}))
    try:
        unchanged = con.execute(
            "SELECT count(*) FROM _deps n JOIN departments d USING (number) WHERE d.department = n.department"
        ).fetchall()[0][0]
        con.execute(
            """
            INSERT INTO departments SELECT number, number_key, department, ? FROM _deps
            ON CONFLICT (number) DO UPDATE SET department = excluded.department, number_key = excluded.number_key,
                                               file_id = excluded.file_id
            WHERE departments.department <> excluded.department
            """,
            [result.file_id],
        )
    finally:
        con.unregister("_deps")
    result.rows_read = parsed.rows_read
    result.rejected = len(rejects)
    result.duplicates = duplicates + unchanged
    result.kept = len(numbers) - unchanged
    write_rejects(db, result.file_id, result.path, sorted(rejects, key=lambda r: r.line), parsed.sha256)
