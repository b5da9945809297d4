"""The analysts' read-only surface: SQL over the documented views, pseudonym lookup, status."""

from __future__ import annotations

import json
import re
from typing import Any

import duckdb

from ..common.db import Database
from ..common.duckutil import fetch_dicts
from ..common.errors import KasuharaError, ReadOnlyQuery
from ..common.identity import classify_number, pseudonymizer_for
from ..common.site import SiteSettings

Rows = tuple[list[str], list[tuple[Any, ...]]]


def run_query(db: Database, sql: str) -> Rows:
    """Run one analyst query; the database is read-only and files outside it are out of reach."""
    if not db.read_only:
        raise ReadOnlyQuery("run_query needs a database opened read-only")
    _check_relations(db, sql)
    # No COPY TO, ATTACH or reading other files: a query can neither change data nor carry it off.
    if not db.con.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0]:
        db.con.execute("SET enable_external_access = false")
        db.con.execute("SET lock_configuration = true")
    try:
        cursor = db.con.execute(sql)
    except (duckdb.InvalidInputException, duckdb.PermissionException) as exc:
        text = str(exc)
        if "read-only" in text or "external access" in text or "lock_configuration" in text or "configuration" in text:
            raise ReadOnlyQuery(
                "kasuhara query is read-only: it cannot change data, attach databases or write files - "
                "use the ingest (and judge) commands to change data"
            ) from exc
        raise KasuharaError(f"query failed: {_without_values(text)}") from None
    except duckdb.Error as exc:
        raise KasuharaError(f"query failed: {_without_values(str(exc))}") from None
    if cursor.description is None:
        return [], []
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()


# What `kasuhara query` may read: the documented views (docs/views.md) and the catalog. Base
# tables stay out of reach, visit_summaries above all (free text that may name people).
ANALYST_RELATIONS = frozenset(
    {
        "calls",
        "visits",
        "contacts",
        "requesters",
        "rejects",
        "ingest_log",
        "departments",
        "flags",
        "flag_evidence",
        "judge_runs",
        "rule_runs",
        "reviews",
        "runs",
        "schema_version",
    }
)
_CATALOGS = ("information_schema", "pg_catalog")
# Table functions that only make rows: every other one (query(), pragma_storage_info, duckdb_*,
# file readers) could reach storage or hidden tables, and is refused.
_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
_EXPLAIN_ANALYZE = re.compile(r"^\s*EXPLAIN\s+ANALY[SZ]E\b", re.IGNORECASE)
# A quoted literal in an engine message: a value from the data (Could not convert string '...').
_QUOTED_VALUE = re.compile(r"'(?:[^']|'')*'")


def _without_values(message: str) -> str:
    """An engine error without the values it quotes: a failed cast must not print a row's content."""
    return _QUOTED_VALUE.sub("'…'", message)


def _check_relations(db: Database, sql: str) -> None:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise KasuharaError(f"query failed: {_without_values(str(exc))}") from None
    if len(statements) != 1:
        raise KasuharaError("give one SQL statement at a time")
    if statements[0].type not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):
        raise ReadOnlyQuery(
            "kasuhara query is read-only: it cannot change data, attach databases or write files - "
            "use the ingest (and judge) commands to change data"
        )
    if _EXPLAIN_ANALYZE.match(_without_comments(statements[0].query)):
        raise ReadOnlyQuery(
            "kasuhara query does not run EXPLAIN ANALYZE (it runs the query and shows its data); "
            "EXPLAIN alone shows the plan"
        )
    tree = json.loads(db.con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])
    tables, functions = _relations(tree)
    refused = sorted(functions - _TABLE_FUNCTIONS)
    if refused:
        raise ReadOnlyQuery(
            f"kasuhara query does not run the table function {refused[0]}() - name the views directly "
            f"(table functions allowed: {', '.join(sorted(_TABLE_FUNCTIONS))})"
        )
    for schema, name in tables:
        if schema.lower() in _CATALOGS or name.lower() in ANALYST_RELATIONS:
            continue
        raise ReadOnlyQuery(
            f"kasuhara query reads the documented views only, not '{name}' - use "
            f"{', '.join(sorted(ANALYST_RELATIONS))} (docs/views.md)"
        )


def _without_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL)


def _relations(tree) -> tuple[set[tuple[str, str]], set[str]]:
    """(schema, table) of every table reference that is no CTE in its scope, and table-function names.

    A CTE name hides a table only inside the query that defines it: `(WITH visit_summaries AS ...)`
    in one subquery does not make `visit_summaries` elsewhere in the statement a CTE.
    """
    tables: set[tuple[str, str]] = set()
    functions: set[str] = set()

    def walk(node, scope: frozenset[str]) -> None:
        if isinstance(node, dict):
            defined = {entry.get("key") for entry in (node.get("cte_map") or {}).get("map", [])}
            scope = scope | defined
            if node.get("type") == "BASE_TABLE":
                schema, name = node.get("schema_name") or "", node.get("table_name") or ""
                if schema or name not in scope:
                    tables.add((schema, name))
            elif node.get("type") == "TABLE_FUNCTION":
                functions.add(((node.get("function") or {}).get("function_name") or "").lower())
            for value in node.values():
                walk(value, scope)
        elif isinstance(node, list):
            for value in node:
                walk(value, scope)

    walk(tree, frozenset())
    return tables, functions


def lookup_number(db: Database, number: str, site: SiteSettings) -> Rows:
    """The pseudonym of a phone number and what the database holds for it."""
    identity = classify_number(number, site)
    columns = ["class", "requester", "calls", "visits", "first_seen", "last_seen", "note"]
    e164 = identity.external_number
    if e164 is None:
        return columns, [(identity.caller_class, None, 0, 0, None, None, f"never a requester ({identity.note})")]
    key = pseudonymizer_for(db, create=False).key(e164)
    resolved = db.con.execute(
        "SELECT coalesce((SELECT requester_key FROM requester_links WHERE alias_key = ?), ?)", [key, key]
    ).fetchall()[0][0]
    found = db.con.execute(
        "SELECT calls, visits, first_seen, last_seen FROM requesters WHERE requester_key = ?", [resolved]
    ).fetchall()
    row = found[0] if found else None
    note = "linked through a visit" if resolved != key else None
    if row is None:
        return columns, [("external", resolved, 0, 0, None, None, "not in the database")]
    return columns, [("external", resolved, row[0], row[1], row[2], row[3], note)]


_STATUS_SQL = """
SELECT 'files ingested', count(*) FROM ingest_log
UNION ALL SELECT 'rows read', coalesce(sum(rows_read), 0) FROM ingest_log
UNION ALL SELECT 'rows kept', coalesce(sum(kept), 0) FROM ingest_log
UNION ALL SELECT 'rows rejected', coalesce(sum(rejected), 0) FROM ingest_log
UNION ALL SELECT 'duplicate rows', coalesce(sum(duplicates), 0) FROM ingest_log
UNION ALL SELECT 'call legs', count(*) FROM call_legs
UNION ALL SELECT 'visits', count(*) FROM visit_records
UNION ALL SELECT 'departments mapped', count(*) FROM departments
UNION ALL SELECT 'contacts', count(*) FROM contacts
UNION ALL SELECT 'contacts of requesters', count(*) FROM contacts WHERE requester_key IS NOT NULL
UNION ALL SELECT 'requesters', count(*) FROM requesters
UNION ALL SELECT 'withheld-caller contacts', count(*) FROM contacts WHERE caller_class = 'withheld'
UNION ALL SELECT 'staff and outbound contacts', count(*) FROM contacts WHERE direction IN ('internal', 'outbound')
"""


def status_counts(db: Database) -> Rows:
    rows = db.con.execute(_STATUS_SQL).fetchall()
    # Callers that are no valid number are never judged: a site should notice a PBX writing numbers oddly.
    rows.append(
        (
            "never judged: contacts of callers that are no valid number",
            db.con.execute("SELECT count(*) FROM contacts WHERE caller_class = 'unusable'").fetchall()[0][0],
        )
    )
    rows += [(f"  calls in {row['path']}", row["unusable"]) for row in unusable_callers(db)]
    return ["what", "count"], rows


def unusable_callers(db: Database, *, file_ids: list[int] | None = None, start=None, end=None) -> list[dict[str, Any]]:
    """Per source file: its calls, and those whose caller is not a valid number (never a requester).

    Only files with such calls; of the given files, or of calls started in [start, end).
    """
    # Calls first (one aggregate, not two DISTINCT ones), and only of the paths with such a leg:
    # at a year of legs the plain form took seconds for a nightly summary that is mostly empty.
    return fetch_dicts(
        db.con,
        """
        WITH legs AS (
            SELECT i.path, i.format, l.call_ref, l.caller_class FROM call_legs l JOIN ingest_log i USING (file_id)
            WHERE ($file_ids IS NULL OR list_contains($file_ids, l.file_id))
              AND ($start IS NULL OR l.started_at >= $start) AND ($end IS NULL OR l.started_at < $end)
        ), calls AS (
            SELECT path, format, call_ref, bool_or(caller_class = 'unusable') AS unusable
            FROM legs WHERE path IN (SELECT path FROM legs WHERE caller_class = 'unusable')
            GROUP BY ALL
        )
        SELECT path, format, count(*) AS calls, count(*) FILTER (WHERE unusable) AS unusable
        FROM calls GROUP BY ALL HAVING unusable > 0 ORDER BY unusable DESC, path
    """,
        {"file_ids": file_ids, "start": start, "end": end},
    )


def list_rejects(db: Database, *, file_id: int | None = None, reveal: bool = False) -> Rows:
    """The rejected rows: file, line and reason; with `reveal`, the line as written, from the vault."""
    rows = db.con.execute(
        """
        SELECT r.file_id, r.path, r.line, r.reason, l.sha256 FROM reject_rows r JOIN ingest_log l USING (file_id)
        WHERE $file_id IS NULL OR r.file_id = $file_id ORDER BY r.file_id, r.line
    """,
        {"file_id": file_id},
    ).fetchall()
    columns = ["file_id", "path", "line", "reason"]
    if not reveal:
        return columns, [row[:4] for row in rows]
    texts = dict(
        ((sha, line), text)
        for sha, line, text in db.vault().rows(
            "SELECT sha256, line, raw_text FROM reject_lines WHERE list_contains(?, sha256)",
            [sorted({row[4] for row in rows})],
        )
    )
    return columns + ["raw_text"], [(*row[:4], texts.get((row[4], row[2]))) for row in rows]
