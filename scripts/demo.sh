#!/usr/bin/env bash
# The main job on the bundled samples: ingest every sample export into an embedded DuckDB file
# and show what was found. Safe to run again: files already ingested are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
DB="${1:-kasuhara.duckdb}"
K="${KASUHARA_BIN:-.venv/bin/kasuhara} --db $DB"
S=data/samples

echo "== departments"
$K ingest departments "$S/departments.csv"
echo "== Asterisk call detail records (every layout)"
$K ingest calls "$S"/asterisk/*.csv
echo "== Japanese PBX export through a mapping file (CP932)"
$K ingest calls --mapping "$S/mapping-example.toml" "$S/pbx/calls-cp932.csv"
echo "== reception / counter logs"
$K ingest visits "$S"/visits/*.csv
echo
$K status
echo
echo "== rejected rows (kept with their reason)"
$K query "SELECT path, line, reason FROM rejects ORDER BY path, line"
echo
echo "== busiest requesters (pseudonyms only)"
$K query "SELECT requester_key, calls, answered_calls, visits, departments, total_talk_s FROM requesters ORDER BY calls + visits DESC LIMIT 8"
echo
echo "Database: $DB   Try: $K query \"SELECT * FROM contacts LIMIT 5\""
