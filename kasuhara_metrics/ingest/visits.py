"""Reception and counter logs in the canonical visits CSV.

Header (any order): visit_id,arrived_at,ended_at,department,kind,topic,phone,requester_ref,
exit_requested_at,summary. visit_id and arrived_at are required. UTF-8 (with or without BOM) and
CP932 are told apart by the bytes. A visit's requester is its phone number's pseudonym; without a
usable phone, the pseudonym of requester_ref; a visit with both links the two.
"""

from __future__ import annotations

import pyarrow as pa

from ..db import Database, drop_temp_tables, unregister_all
from ..errors import InputFileError, SourceLocation
from ..identity import Pseudonymizer, identify_values, usable_reference
from ..site import SiteSettings
from .calls import DEFAULT_TIME_FORMATS, _FULLWIDTH
from .csvread import LINE_COLUMN, BadLine, ParsedFile, read_csv_rows
from .filelog import FileResult, write_rejects

VISIT_COLUMNS = (
    "visit_id", "arrived_at", "ended_at", "department", "kind", "topic", "phone", "requester_ref",
    "exit_requested_at", "summary",
)
REQUIRED_COLUMNS = ("visit_id", "arrived_at")

# kind as written in the log -> canonical kind. 手続 (procedures) and 相談 (consultations) are not
# counted by the repetition rules; complaints, demands, inquiries and unknown kinds are.
KINDS = {
    "苦情": "complaint", "クレーム": "complaint", "complaint": "complaint",
    "要望": "demand", "要求": "demand", "demand": "demand", "request": "demand",
    "問合せ": "inquiry", "問合わせ": "inquiry", "問い合わせ": "inquiry", "問い合せ": "inquiry",
    "inquiry": "inquiry", "enquiry": "inquiry", "question": "inquiry",
    "手続": "procedure", "手続き": "procedure", "procedure": "procedure",
    "相談": "consultation", "consultation": "consultation",
    "その他": "other", "other": "other",
}


def read_visits(path: str, raw: bytes, encoding: str = "auto") -> ParsedFile:
    parsed = read_csv_rows(path, raw, header=True, encoding=encoding)
    header = [name.strip().lower() for name in parsed.header or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InputFileError(
            f"{path} has no {missing[0]} column - a visits file starts with the header "
            f"{','.join(VISIT_COLUMNS)}",
            SourceLocation(path, 1),
        )
    unknown = [name for name in header if name not in VISIT_COLUMNS]
    if unknown:
        parsed.notes.append(f"ignored unknown columns: {', '.join(unknown)}")
    columns = {name: parsed.table[f"c{header.index(name)}"] for name in VISIT_COLUMNS if name in header}
    length = parsed.table.num_rows
    arrays = {name: columns.get(name, pa.nulls(length, pa.string())) for name in VISIT_COLUMNS}
    arrays[LINE_COLUMN] = parsed.table[LINE_COLUMN]
    parsed.table = pa.table(arrays)
    return parsed


def _ts(column: str) -> str:
    clean = f"trim(translate(coalesce({column}, ''), '{_FULLWIDTH[0]}', '{_FULLWIDTH[1]}'))"
    return f"CASE WHEN {clean} = '' THEN NULL ELSE try_strptime({clean}, $formats) END"


def _blank(column: str) -> str:
    return f"trim(coalesce({column}, '')) = ''"


_TYPED_SQL = f"""
CREATE OR REPLACE TEMP TABLE _vtyped AS
WITH parsed AS (
    SELECT s.*, {_ts('arrived_at')} AS arrived_local, {_ts('ended_at')} AS ended_local,
           {_ts('exit_requested_at')} AS exit_local,
           k.kind AS kind_code,
           trim(s.visit_id) AS vid
    FROM _vstage s LEFT JOIN _kinds k ON k.label = lower(trim(coalesce(s.kind, '')))
)
SELECT *,
    CASE
        WHEN {_blank('visit_id')} THEN 'no visit_id'
        WHEN {_blank('arrived_at')} THEN 'no arrived_at time'
        WHEN arrived_local IS NULL THEN 'arrived_at ''' || arrived_at || ''' is not a date such as 2026-09-01 09:30 or 2026/09/01 09:30:00'
        WHEN NOT {_blank('ended_at')} AND ended_local IS NULL THEN 'ended_at ''' || ended_at || ''' is not a date such as 2026-09-01 10:15'
        WHEN NOT {_blank('exit_requested_at')} AND exit_local IS NULL THEN 'exit_requested_at ''' || exit_requested_at || ''' is not a date'
        WHEN ended_local < arrived_local THEN 'ended_at is before arrived_at'
        WHEN kind_code IS NULL THEN 'kind ''' || kind || ''' is not one of 苦情, 要望, 問合せ, 手続, 相談, その他 (or complaint, demand, inquiry, procedure, consultation, other)'
    END AS reject_reason,
    md5_number(concat_ws(chr(31), {', '.join(f'coalesce({c}, chr(0))' for c in VISIT_COLUMNS)})) AS fp
FROM parsed
"""


def store_visits(db: Database, batch: list[tuple[ParsedFile, FileResult]], site: SiteSettings,
                 pseudo: Pseudonymizer) -> None:
    """Check, identify and de-duplicate the visits of a batch of files, then insert them.

    Counts are kept per file; a record in two files of the batch is kept in the first.
    """
    con = db.con
    tables = [parsed.table.append_column("_batch", pa.array([n] * parsed.table.num_rows, pa.int32()))
              for n, (parsed, _) in enumerate(batch)]
    con.register("_vstage", pa.concat_tables(tables))
    con.register("_vfiles", pa.table({"_batch": pa.array(range(len(batch)), pa.int32()),
                                      "file_id": pa.array([result.file_id for _, result in batch], pa.int64()),
                                      "path": pa.array([result.path for _, result in batch], pa.string())}))
    labels = {label.lower(): code for label, code in KINDS.items()}
    labels[""] = "unknown"
    con.register("_kinds", pa.table({"label": list(labels), "kind": list(labels.values())}))
    try:
        con.execute(_TYPED_SQL, {"formats": list(DEFAULT_TIME_FORMATS)})
        # The same visit_id with other content, stored before or earlier in the batch, is a conflict, not a copy.
        con.execute("""
            UPDATE _vtyped t SET reject_reason = 'visit_id ' || t.vid || ' was already ingested with different content (file '
                || x.file_id || ' line ' || x.line || ') - give a corrected record a new visit_id'
            FROM (SELECT visit_id, min(file_id) AS file_id, arg_min(line, (file_id, line)) AS line,
                         list(record_fp) AS fps
                  FROM visit_records WHERE visit_id IN (SELECT vid FROM _vtyped) GROUP BY visit_id) x
            WHERE t.reject_reason IS NULL AND x.visit_id = t.vid AND NOT list_contains(x.fps, t.fp)
        """)
        con.execute("""
            UPDATE _vtyped t SET reject_reason = 'visit_id ' || t.vid || ' appears earlier ('
                || CASE WHEN f.first_batch = t._batch THEN 'in this file' ELSE 'in ' || f.first_path END
                || ', line ' || f.first_line || ') with different content'
            FROM (SELECT vid, arg_min(fp, (_batch, _line)) AS first_fp, arg_min(_batch, (_batch, _line)) AS first_batch,
                         arg_min(_line, (_batch, _line)) AS first_line,
                         arg_min(path, (_batch, _line)) AS first_path
                  FROM _vtyped JOIN _vfiles USING (_batch) WHERE reject_reason IS NULL GROUP BY vid) f
            WHERE t.reject_reason IS NULL AND f.vid = t.vid AND t.fp <> f.first_fp
        """)
        bad: dict[int, list[tuple[int, str]]] = {}
        for number, line, reason in con.execute(
                "SELECT _batch, _line, reject_reason FROM _vtyped WHERE reject_reason IS NOT NULL ORDER BY _line").fetchall():
            bad.setdefault(number, []).append((line, reason))
        phones = [r[0] for r in con.execute("SELECT DISTINCT phone FROM _vtyped WHERE reject_reason IS NULL").fetchall()]
        phone_ids = identify_values([p if p and p.strip() else None for p in phones], site, pseudo)
        con.register("_phones", phone_ids.set_column(0, "raw", pa.array(phones, pa.string())))
        refs = [r[0] for r in con.execute(
            "SELECT DISTINCT requester_ref FROM _vtyped WHERE reject_reason IS NULL AND trim(coalesce(requester_ref, '')) <> ''"
        ).fetchall()]
        # Placeholders (-, なし, 不明, ...) are nobody: they must not join strangers into one requester.
        ref_keys = [pseudo.key(usable, "ref") if (usable := usable_reference(r)) else None for r in refs]
        con.register("_refs", pa.table({"raw": pa.array(refs, pa.string()), "key": pa.array(ref_keys, pa.string())}))
        # One copy per record: later copies in the batch and records stored before are duplicates.
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _vnew AS
            SELECT * FROM _vtyped WHERE reject_reason IS NULL
            QUALIFY row_number() OVER (PARTITION BY fp ORDER BY _batch, _line) = 1
        """)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _vinsert AS
            SELECT n.*, f.file_id FROM _vnew n JOIN _vfiles f USING (_batch)
            ANTI JOIN visit_records v ON v.record_fp = n.fp
        """)
        good = dict(con.execute("SELECT _batch, count(*) FROM _vtyped WHERE reject_reason IS NULL GROUP BY ALL").fetchall())
        kept = dict(con.execute("SELECT _batch, count(*) FROM _vinsert GROUP BY ALL").fetchall())
        con.execute(
            """
            INSERT INTO visit_records
            SELECT n.file_id, n._line, n.fp, n.vid, timezone($tz, n.arrived_local), timezone($tz, n.ended_local),
                   nullif(trim(n.department), ''), n.kind_code, nullif(trim(n.kind), ''), nullif(trim(n.topic), ''),
                   p.key, CASE WHEN trim(coalesce(n.phone, '')) = '' THEN 'none' ELSE p.class END,
                   r.key, timezone($tz, n.exit_local)
            FROM _vinsert n
            LEFT JOIN _phones p ON p.raw IS NOT DISTINCT FROM n.phone
            LEFT JOIN _refs r ON r.raw = n.requester_ref
            ORDER BY n.file_id, n._line
            """,
            {"tz": site.timezone},
        )
        con.execute("INSERT INTO visit_summaries SELECT file_id, _line, vid, summary FROM _vinsert "
                    "WHERE trim(coalesce(summary, '')) <> ''")
    finally:
        unregister_all(con, "_vstage", "_vfiles", "_kinds", "_phones", "_refs")
        drop_temp_tables(con, "_vtyped", "_vnew", "_vinsert")
    for number, (parsed, result) in enumerate(batch):
        rejects = list(parsed.bad_lines) + [
            BadLine(odd.line, odd.raw, f"has {len(odd.fields)} fields; the header has {len(parsed.header or [])}")
            for odd in parsed.odd_rows
        ]
        if number in bad:
            raw = parsed.raw_lines({line for line, _ in bad[number]})
            rejects.extend(BadLine(line, raw.get(line, ""), reason) for line, reason in bad[number])
        result.rows_read = parsed.rows_read
        result.rejected = len(rejects)
        result.kept = kept.get(number, 0)
        result.duplicates = good.get(number, 0) - result.kept
        write_rejects(db, result.file_id, result.path, sorted(rejects, key=lambda r: r.line), parsed.sha256)
