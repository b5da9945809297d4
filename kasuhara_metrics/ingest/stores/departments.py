"""Which department a dialled extension or DID reaches, into `departments`.

A later file updates the mapping: a number's department is the one most recently ingested, so
files are stored one per batch. Full numbers are held only as their pseudonyms, as calls hold
them, so that a call to or *from* one of the ward's own numbers is recognised. Each name's code
(`name_code`) lets visits, which hold their typed department as a code, show the name. Within a file a number
mapped twice to the same department is a duplicate, to another a reject; a number whose stored
department is unchanged is a duplicate.
"""

from __future__ import annotations

from typing import Any

from ...common.identity import identify_own_numbers, identify_texts
from ..filelog import shape_sql
from .base import RecordStore


class DepartmentStore(RecordStore):
    kind = "departments"
    files_per_batch = 1
    identities = {"number": identify_own_numbers, "department": identify_texts("department")}

    def type_sql(self, typing: Any) -> str:
        return """
SELECT _batch, _line, trim(c0) AS number, trim(c1) AS department,
       CASE WHEN trim(c1) = '' THEN 'no department name' END AS reject_reason
FROM _stage
"""

    def identity_checks(self) -> list[str]:
        return [
            f"""
SELECT t._batch, t._line,
       'the number (of the form ''' || {shape_sql("t.number")} || ''') is not an extension or phone number' AS reason
FROM _typed t JOIN _ids_number i ON i.raw IS NOT DISTINCT FROM t.number
WHERE t.reject_reason IS NULL AND i.class = 'unusable'
""",
            """
SELECT t._batch, t._line, 'the number is mapped to ' || f.department || ' on line ' || f._line || ' already' AS reason
FROM _typed t JOIN _ids_number i ON i.raw = t.number
JOIN (SELECT i.canonical, arg_min(t.department, t._line) AS department, min(t._line) AS _line
      FROM _typed t JOIN _ids_number i ON i.raw = t.number WHERE t.reject_reason IS NULL GROUP BY i.canonical) f
  ON f.canonical = i.canonical
WHERE t.reject_reason IS NULL AND t.department <> f.department
""",
        ]

    def new_sql(self) -> str:
        # The first line of each number; one already stored with the same department is unchanged.
        return """
WITH first_lines AS (
    SELECT t._batch, t._line, i.canonical, i.key, t.department
    FROM _typed t JOIN _ids_number i ON i.raw = t.number
    WHERE t.reject_reason IS NULL
    QUALIFY row_number() OVER (PARTITION BY i.canonical ORDER BY t._line) = 1
)
SELECT n.* FROM first_lines n ANTI JOIN departments d ON d.number = n.canonical AND d.department = n.department
"""

    def insert_statements(self) -> list[str]:
        return [
            """
INSERT INTO departments BY NAME
SELECT n.canonical AS number, n.key AS number_key, n.department, c.code AS name_code, f.file_id
FROM _new n JOIN _files f USING (_batch) JOIN _ids_department c ON c.raw = n.department
ON CONFLICT (number) DO UPDATE SET department = excluded.department, number_key = excluded.number_key,
                                   name_code = excluded.name_code, file_id = excluded.file_id
"""
        ]
