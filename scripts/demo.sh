#!/usr/bin/env bash
# The main job on the bundled samples: ingest every sample export into an embedded DuckDB file
# and show what was found. Safe to run again: files already ingested are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
DB="${1:-kasuhara.duckdb}"
REPORTS="${2:-reports}"  # the tests pass a folder of their own: they never write into the checkout
K="${KASUHARA_BIN:-.venv/bin/kasuhara} --db $DB"
S=data/samples

# The synthetic samples are pseudonymised with a fixed demo secret, so that the ids the README shows
# are the ones this demo prints. A real site never does this: its secret is made at random on first use.
demo_secret() {
  if [ -z "${KASUHARA_SECRET:-}${KASUHARA_SECRET_FILE:-}" ] && [ ! -e "$1" ] && [ ! -e "$1.secret" ]; then
    (umask 077 && echo "kasuhara-demo-secret-for-the-synthetic-samples-only" > "$1.secret")
  fi
}
demo_secret "$DB"

echo "== departments"
$K ingest departments "$S/departments.csv"
echo "== call detail records, recognised by their content: Asterisk (every layout, one annex writing UTC),"
echo "   FreeSWITCH, Cisco CUCM, 3CX, Amazon Connect, Twilio"
$K ingest calls "$S"/asterisk/*.csv "$S"/freeswitch/* "$S"/cucm/* "$S"/3cx/* "$S"/amazon_connect/* "$S"/twilio/*
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
echo "== judge every requester with the Bunkyo profile (thresholds/bunkyo.toml)"
$K judge
echo
echo "== flags: leads for a person to review, never verdicts (pseudonyms only)"
$K query "SELECT requester_key, category, behaviour, severity, strftime(first_at, '%Y-%m-%d') AS since, detail FROM flags ORDER BY category, behaviour, first_at"
echo
FIRST=$($K query "SELECT requester_key FROM flags WHERE rule_id = 'cross_department' ORDER BY first_at LIMIT 1" --format csv | tail -n 1)
echo "Database: $DB"
echo "Try:  $K flags --severity alert"
echo "      $K explain $FIRST"
echo
echo "== the weekly report for managers (the samples' week 2026-W38: new, ongoing and alert flags)"
$K report --week 2026-W38 --out "$REPORTS"

# A second ward on the same install: 世田谷区, its own site file, samples and profile. The profile
# extends Bunkyo's (thresholds/setagaya.toml): its own wording and responses, 生活支援課's long
# interviews judged by their own tiers, and the off-hours rules switched on.
SDB="${DB%.duckdb}-setagaya.duckdb"
SS="$S/setagaya"
demo_secret "$SDB"
# KASUHARA_PROFILE: every command, ingest included, reads the ward's [site] (its visit topics) there.
KS="env KASUHARA_PROFILE=thresholds/setagaya.toml ${KASUHARA_BIN:-.venv/bin/kasuhara} --site $SS/setagaya.site.toml --db $SDB"
echo
echo "== 世田谷区: its departments, phone system and reception log"
$KS ingest departments "$SS/departments.csv"
$KS ingest calls "$SS"/asterisk/*.csv
$KS ingest visits "$SS"/visits/*.csv
echo
echo "== judge 世田谷区 with its own profile (thresholds/setagaya.toml extends bunkyo.toml)"
$KS judge --profile thresholds/setagaya.toml
echo
$KS flags
echo
echo "== 世田谷区's weekly report (2026-W38)"
$KS report --week 2026-W38 --profile thresholds/setagaya.toml --out "$REPORTS/setagaya"
echo "Database: $SDB"
