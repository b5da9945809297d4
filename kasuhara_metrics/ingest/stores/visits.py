"""Visits from reception and counter logs into `visit_records`: types, conflicts, identities, copies.

A visit's requester is its phone number's pseudonym; without a usable phone, the pseudonym of
requester_ref; a visit with both links the two. The same visit_id with other content is a
conflict (rejected), an identical record a duplicate. Free text stays out of the database: the
summary goes to the vault, and topic and department are held as codes (T-..., D-...), which the
views show as names when the site's topic list or the departments list knows them.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ...common import arrays
from ...common.bulkidentity import identify_phones
from ...common.duckutil import ArrowScope
from ...common.identity import Pseudonymizer, identify_references, identify_texts, normal_text
from ...common.site import SiteSettings
from ..filelog import shape_sql
from ..timesql import MAX_SECONDS, instant_sql, outside_window_sql
from .base import RecordStore
from .calls import DEFAULT_TIME_FORMATS

VISIT_COLUMNS = (
    "visit_id",
    "arrived_at",
    "ended_at",
    "department",
    "kind",
    "topic",
    "phone",
    "requester_ref",
    "exit_requested_at",
    "summary",
)

# kind as written in the log -> canonical kind. 手続 (procedures) and 相談 (consultations) are not
# counted by the repetition rules; complaints, demands, inquiries and unknown kinds are.
KINDS = {
    "苦情": "complaint",
    "クレーム": "complaint",
    "complaint": "complaint",
    "要望": "demand",
    "要求": "demand",
    "demand": "demand",
    "request": "demand",
    "問合せ": "inquiry",
    "問合わせ": "inquiry",
    "問い合わせ": "inquiry",
    "問い合せ": "inquiry",
    "inquiry": "inquiry",
    "enquiry": "inquiry",
    "question": "inquiry",
    "手続": "procedure",
    "手続き": "procedure",
    "procedure": "procedure",
    "相談": "consultation",
    "consultation": "consultation",
    "その他": "other",
    "other": "other",
}


def _time(column: str) -> str:
    return instant_sql(column, DEFAULT_TIME_FORMATS)


def _blank(column: str) -> str:
    return f"trim(coalesce({column}, '')) = ''"


_TYPED_SQL = f"""
WITH parsed AS (
    SELECT s.*, {_time("arrived_at")} AS arrived, {_time("ended_at")} AS ended,
           {_time("exit_requested_at")} AS exit_requested,
           k.kind AS kind_code,
           trim(s.visit_id) AS vid
    FROM _stage s LEFT JOIN _kinds k ON k.label = lower(trim(coalesce(s.kind, '')))
)
SELECT *,
    CASE
        WHEN {_blank("visit_id")} THEN 'no visit_id'
        WHEN {_blank("arrived_at")} THEN 'no arrived_at time'
        WHEN arrived IS NULL
            THEN 'arrived_at ''' || {shape_sql("arrived_at")}
                 || ''' is not a date such as 2026-09-01 09:30 or 2026/09/01 09:30:00'
        WHEN NOT {_blank("ended_at")} AND ended IS NULL
            THEN 'ended_at ''' || {shape_sql("ended_at")} || ''' is not a date such as 2026-09-01 10:15'
        WHEN NOT {_blank("exit_requested_at")} AND exit_requested IS NULL
            THEN 'exit_requested_at ''' || {shape_sql("exit_requested_at")} || ''' is not a date'
        WHEN ended < arrived THEN 'ended_at is before arrived_at'
        WHEN epoch(ended) - epoch(arrived) > {MAX_SECONDS} THEN 'the visit lasts more than a day (it ends '
            || strftime(ended, '%Y-%m-%d %H:%M') || ') - a typo in a time?'
        WHEN abs(epoch(exit_requested) - epoch(arrived)) > {MAX_SECONDS}
            THEN 'exit_requested_at is more than a day from arrived_at - a typo in a time?'
        WHEN kind_code IS NULL
            THEN 'kind ''' || {shape_sql("kind")} || ''' is not one of 苦情, 要望, 問合せ, 手続, 相談, その他 '
                 || '(or complaint, demand, inquiry, procedure, consultation, other)'
    END AS reject_reason,
    -- in hex: the batch's rows are held as Arrow, which has no exact type for md5_number's UHUGEINT
    hex(md5_number(concat_ws(chr(31), {", ".join(f"coalesce({c}, chr(0))" for c in VISIT_COLUMNS)}))) AS fp
FROM parsed
"""

# The same visit_id with other content, stored before or earlier in the batch, is a conflict, not a copy.
_CONFLICT_SQL = [
    """
SELECT t._batch, t._line, 'visit_id ' || t.vid || ' was already ingested with different content (file '
    || x.file_id || ' line ' || x.line || ') - give a corrected record a new visit_id' AS reason
FROM _typed t
JOIN (SELECT visit_id, min(file_id) AS file_id, arg_min(line, (file_id, line)) AS line,
             list(hex(record_fp)) AS fps
      FROM visit_records WHERE visit_id IN (SELECT vid FROM _typed) GROUP BY visit_id) x ON x.visit_id = t.vid
WHERE t.reject_reason IS NULL AND NOT list_contains(x.fps, t.fp)
""",
    """
SELECT t._batch, t._line, 'visit_id ' || t.vid || ' appears earlier ('
    || CASE WHEN f.first_batch = t._batch THEN 'in this file' ELSE 'in ' || f.first_path END
    || ', line ' || f.first_line || ') with different content' AS reason
FROM _typed t
JOIN (SELECT vid, arg_min(fp, (_batch, _line)) AS first_fp, arg_min(_batch, (_batch, _line)) AS first_batch,
             arg_min(_line, (_batch, _line)) AS first_line, arg_min(path, (_batch, _line)) AS first_path
      FROM _typed JOIN _files USING (_batch) WHERE reject_reason IS NULL GROUP BY vid) f ON f.vid = t.vid
WHERE t.reject_reason IS NULL AND t.fp <> f.first_fp
""",
]


class VisitStore(RecordStore):
    kind = "visits"
    identities = {
        "phone": identify_phones,
        "requester_ref": identify_references,
        "topic": identify_texts("topic"),
        "department": identify_texts("department"),
    }

    def helper_tables(self, typing: Any, site: SiteSettings, pseudo: Pseudonymizer) -> dict[str, pa.Table]:
        labels = {label.lower(): code for label, code in KINDS.items()}
        labels[""] = "unknown"
        # The site's topics: their codes resolve to their names in every view.
        names = {pseudo.code(normal, "topic"): name for name in site.topics if (normal := normal_text(name))}
        return {
            "_kinds": pa.table({"label": arrays.strings(labels), "kind": arrays.strings(labels.values())}),
            "_topic_names": pa.table(
                {"code": arrays.strings(list(names)), "name": arrays.strings(list(names.values()))}
            ),
        }

    def vault_rows(self, scope: ArrowScope) -> dict[str, pa.Table]:
        summaries = scope.arrow("""
            SELECT f.sha256, n._line AS line, n.vid AS visit_id, n.summary FROM _new n JOIN _files f USING (_batch)
            WHERE trim(coalesce(n.summary, '')) <> ''
        """)
        raw = scope.arrow("""
            SELECT DISTINCT code, 'topic' AS kind, raw FROM _ids_topic WHERE code IS NOT NULL
            UNION ALL SELECT DISTINCT code, 'department', raw FROM _ids_department WHERE code IS NOT NULL
        """)
        return {"visit_summaries": summaries, "raw_values": raw}

    def params(self, typing: Any, site: SiteSettings) -> dict[str, Any]:
        return {"time_formats": list(DEFAULT_TIME_FORMATS), "plausible_years": site.plausible_years}

    def type_sql(self, typing: Any) -> str:
        return _TYPED_SQL

    def type_checks(self, typing: Any) -> list[str]:
        return [outside_window_sql("arrived", "arrived_at")]

    def identity_checks(self) -> list[str]:
        return list(_CONFLICT_SQL)

    def new_sql(self) -> str:
        # One copy per record: later copies in the batch and records stored before are duplicates.
        return """
WITH first_copies AS (
    SELECT * FROM _typed WHERE reject_reason IS NULL
    QUALIFY row_number() OVER (PARTITION BY fp ORDER BY _batch, _line) = 1
)
SELECT n.*, f.file_id FROM first_copies n JOIN _files f USING (_batch)
ANTI JOIN visit_records v ON v.record_fp = CAST('0x' || n.fp AS UHUGEINT)
"""

    def insert_statements(self) -> list[str]:
        return [
            """
INSERT INTO visit_records BY NAME
SELECT n.file_id, n._line AS line, CAST('0x' || n.fp AS UHUGEINT) AS record_fp, n.vid AS visit_id,
       n.arrived AS arrived_at, n.ended AS ended_at,
       -- typed by staff, so free text: the database holds its code, the vault the text
       d.code AS department, n.kind_code AS kind, nullif(trim(n.kind), '') AS kind_label,
       t.code AS topic, p.key AS phone_key,
       CASE WHEN trim(coalesce(n.phone, '')) = '' THEN 'none' ELSE p.class END AS phone_class,
       r.key AS ref_key, n.exit_requested AS exit_requested_at
FROM _new n
LEFT JOIN _ids_phone p ON p.raw IS NOT DISTINCT FROM n.phone
LEFT JOIN _ids_requester_ref r ON r.raw IS NOT DISTINCT FROM n.requester_ref
LEFT JOIN _ids_topic t ON t.raw IS NOT DISTINCT FROM n.topic
LEFT JOIN _ids_department d ON d.raw IS NOT DISTINCT FROM n.department
ORDER BY n.file_id, n._line
""",
            """
INSERT INTO topic_names BY NAME SELECT code, name FROM _topic_names
ON CONFLICT (code) DO UPDATE SET name = excluded.name
""",
        ]
