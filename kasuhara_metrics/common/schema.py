"""Schema migrations, oldest first. Never edit a released migration: append a new one.

Tables hold no raw phone number or name. Requesters are keyed pseudonyms (see identity.py).
The documented views for analysts are: calls, visits, contacts, requesters, rejects, ingest_log,
flags, flag_evidence, judge_runs, rule_runs, reviews, runs.
"""

import pyarrow as pa

from . import arrays
from .duckutil import ArrowScope
from .errors import DatabaseError, SecretError
from .identity import Pseudonymizer, load_secret, normal_text

MIGRATION_1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL);

-- Small facts about this database: the pseudonym secret's fingerprint, the site settings in use.
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);

CREATE SEQUENCE file_id_seq START 1;

-- One row per input file read (skipped re-reads of the same content add nothing).
CREATE TABLE ingest_log (
    file_id      INTEGER PRIMARY KEY,
    path         VARCHAR NOT NULL,
    sha256       VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,      -- calls | visits | departments
    format       VARCHAR NOT NULL,      -- e.g. asterisk-cdr_csv-18, mapped:<name>, visits-csv
    encoding     VARCHAR NOT NULL,
    timezone     VARCHAR NOT NULL,
    rows_read    BIGINT NOT NULL,
    kept         BIGINT NOT NULL,
    rejected     BIGINT NOT NULL,
    duplicates   BIGINT NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ NOT NULL,
    notes        VARCHAR
);

-- Rows that could not be used, with the reason. raw_text is the line as it was in the file:
-- operators need it to fix and re-send the row, so this is the one table that may hold raw input.
CREATE TABLE rejects (
    file_id  INTEGER NOT NULL,
    path     VARCHAR NOT NULL,
    line     BIGINT,
    reason   VARCHAR NOT NULL,
    raw_text VARCHAR
);

-- One row per call-detail record (leg) kept.
CREATE TABLE call_legs (
    file_id        INTEGER NOT NULL,
    line           BIGINT NOT NULL,
    record_fp      UHUGEINT NOT NULL,   -- md5 of the record's fields: the duplicate check
    record_occ     INTEGER NOT NULL,    -- n-th copy of the same record within its file
    source_format  VARCHAR NOT NULL,
    uniqueid       VARCHAR,
    linkedid       VARCHAR,
    leg_sequence   BIGINT,
    call_ref       VARCHAR NOT NULL,    -- linkedid, else uniqueid, else the file's call id, else file:line
    caller_key     VARCHAR,             -- pseudonym; NULL unless caller_class = 'external'
    caller_class   VARCHAR NOT NULL,    -- external | withheld | internal | unusable
    caller_note    VARCHAR,             -- why: 非通知, 公衆電話, extension, ...
    dialled        VARCHAR,             -- an extension (digits), a full number's pseudonym, or s/h/t
    dialled_class  VARCHAR NOT NULL,    -- extension | number | none
    direction_hint VARCHAR,             -- inbound | outbound | internal, when the export says so
    dcontext       VARCHAR,
    lastapp        VARCHAR,
    disposition    VARCHAR,
    started_at     TIMESTAMPTZ NOT NULL,
    answered_at    TIMESTAMPTZ,
    ended_at       TIMESTAMPTZ NOT NULL,
    duration_s     INTEGER NOT NULL,
    billsec_s      INTEGER NOT NULL,
    answered       BOOLEAN NOT NULL     -- a member of staff talked: see docs/ingest.md
);

CREATE TABLE visit_records (
    file_id           INTEGER NOT NULL,
    line              BIGINT NOT NULL,
    record_fp         UHUGEINT NOT NULL,
    visit_id          VARCHAR NOT NULL,
    arrived_at        TIMESTAMPTZ NOT NULL,
    ended_at          TIMESTAMPTZ,
    department        VARCHAR,
    kind              VARCHAR NOT NULL,   -- complaint | demand | inquiry | procedure | consultation | other | unknown
    kind_label        VARCHAR,            -- as written in the log (苦情, 要望, ...)
    topic             VARCHAR,
    phone_key         VARCHAR,            -- pseudonym of the visitor's phone, when usable
    phone_class       VARCHAR,            -- external | withheld | internal | unusable | none
    ref_key           VARCHAR,            -- pseudonym of requester_ref
    exit_requested_at TIMESTAMPTZ
);

-- Free-text summaries may name people: kept apart from the analytics views.
CREATE TABLE visit_summaries (file_id INTEGER NOT NULL, line BIGINT NOT NULL, visit_id VARCHAR NOT NULL, summary VARCHAR);

-- Dialled extensions and the ward's own numbers (DIDs), with the department they reach.
CREATE TABLE departments (
    number      VARCHAR PRIMARY KEY,   -- extension digits, or E.164 for full numbers
    number_key  VARCHAR,               -- pseudonym of a full number, to recognise own numbers as callers
    department  VARCHAR NOT NULL,
    file_id     INTEGER NOT NULL
);

-- Pseudonyms known to be the same person (a visit with both a phone and a requester_ref).
CREATE TABLE requester_links (alias_key VARCHAR PRIMARY KEY, requester_key VARCHAR NOT NULL);

-- Derived from call_legs, visit_records, departments and requester_links by contacts.rebuild().
CREATE TABLE contacts (
    contact_id        VARCHAR NOT NULL,   -- unique; no index, which would slow every rebuild
    channel           VARCHAR NOT NULL,   -- call | visit
    requester_key     VARCHAR,            -- NULL for withheld, internal, outbound and unusable
    caller_class      VARCHAR NOT NULL,
    direction         VARCHAR NOT NULL,   -- inbound | outbound | internal | visit
    department        VARCHAR,
    kind              VARCHAR NOT NULL,
    topic             VARCHAR,
    started_at        TIMESTAMPTZ NOT NULL,
    answered_at       TIMESTAMPTZ,
    ended_at          TIMESTAMPTZ,
    talk_s            INTEGER NOT NULL,   -- calls: staff talk time; visits: arrival to end
    span_s            INTEGER NOT NULL,
    answered          BOOLEAN NOT NULL,
    outcome           VARCHAR NOT NULL,   -- answered | machine | dropped | busy | no_answer | failed | visit
    legs              INTEGER NOT NULL,
    source_ids        VARCHAR[] NOT NULL, -- CDR uniqueids (or file:line) and visit_ids
    exit_requested_at TIMESTAMPTZ
);

-- A call from one of the ward's own numbers is staff, even if the number was mapped after the call came in.
CREATE VIEW calls AS
SELECT file_id, line, source_format, uniqueid, linkedid, leg_sequence, call_ref,
       CASE WHEN own.number_key IS NULL THEN caller_key END AS requester_key,
       CASE WHEN own.number_key IS NULL THEN caller_class ELSE 'internal' END AS caller_class,
       CASE WHEN own.number_key IS NULL THEN caller_note ELSE 'own number' END AS caller_note,
       dialled, dialled_class, dcontext, lastapp, disposition, started_at, answered_at, ended_at,
       duration_s, billsec_s, answered
FROM call_legs LEFT JOIN (SELECT DISTINCT number_key FROM departments WHERE number_key IS NOT NULL) own
     ON own.number_key = call_legs.caller_key;

-- A visitor's requester: their phone's pseudonym (unless the phone is one of the ward's own
-- numbers), else their requester_ref's, each resolved through requester_links.
CREATE VIEW visits AS
WITH own AS (SELECT number_key FROM departments WHERE number_key IS NOT NULL),
records AS (
    SELECT *, CASE WHEN phone_key IN (SELECT number_key FROM own) THEN NULL ELSE phone_key END AS person_phone_key
    FROM visit_records
)
SELECT v.file_id, v.line, v.visit_id, v.arrived_at, v.ended_at, v.department, v.kind, v.kind_label, v.topic,
       coalesce(l1.requester_key, v.person_phone_key, l2.requester_key, v.ref_key) AS requester_key,
       CASE WHEN v.person_phone_key IS NOT NULL THEN 'phone' WHEN v.ref_key IS NOT NULL THEN 'ref' END AS requester_source,
       CASE WHEN v.phone_key IS NOT NULL AND v.person_phone_key IS NULL THEN 'internal' ELSE v.phone_class END AS phone_class,
       v.exit_requested_at,
       CAST(epoch(v.ended_at) - epoch(v.arrived_at) AS INTEGER) AS duration_s
FROM records v
LEFT JOIN requester_links l1 ON l1.alias_key = v.person_phone_key
LEFT JOIN requester_links l2 ON l2.alias_key = v.ref_key;

CREATE VIEW requesters AS
SELECT requester_key,
       min(started_at) AS first_seen,
       max(started_at) AS last_seen,
       count(*) FILTER (WHERE channel = 'call') AS calls,
       count(*) FILTER (WHERE channel = 'call' AND answered) AS answered_calls,
       count(*) FILTER (WHERE channel = 'visit') AS visits,
       count(DISTINCT department) AS departments,
       sum(talk_s) AS total_talk_s
FROM contacts
WHERE requester_key IS NOT NULL
GROUP BY requester_key;
"""

MIGRATION_2 = """
CREATE SEQUENCE run_id_seq START 1;

-- One row per `kasuhara judge`: which profile (and version, and content hash) made the flags.
CREATE TABLE judge_runs (
    run_id            INTEGER PRIMARY KEY,
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ NOT NULL,
    profile_path      VARCHAR NOT NULL,
    profile_name      VARCHAR NOT NULL,
    profile_version   VARCHAR NOT NULL,
    profile_hash      VARCHAR NOT NULL,
    previous_hash     VARCHAR,          -- the profile of the run before, when it differs
    as_of             DATE,
    contacts_judged   BIGINT NOT NULL,
    flags             BIGINT NOT NULL,
    flags_new         BIGINT NOT NULL,
    flags_updated     BIGINT NOT NULL,
    flags_gone        BIGINT NOT NULL
);

-- Rule health: every rule of every run, whether it fired or not.
CREATE TABLE rule_runs (
    run_id              INTEGER NOT NULL,
    rule_id             VARCHAR NOT NULL,
    rule_hash           VARCHAR NOT NULL,
    kind                VARCHAR NOT NULL,
    contacts_evaluated  BIGINT NOT NULL,
    hits                BIGINT NOT NULL,
    flags               BIGINT NOT NULL
);

-- The flags of the latest run only: every row carries that run's profile, never a mix.
CREATE TABLE flag_rows (
    flag_id          VARCHAR NOT NULL,   -- F + 16 hex of (requester, rule, group, episode start)
    run_id           INTEGER NOT NULL,
    requester_key    VARCHAR NOT NULL,
    rule_id          VARCHAR NOT NULL,
    rule_hash        VARCHAR NOT NULL,
    profile_name     VARCHAR NOT NULL,
    profile_version  VARCHAR NOT NULL,
    category         VARCHAR NOT NULL,
    behaviour        VARCHAR NOT NULL,
    severity         VARCHAR NOT NULL,   -- watch (注意) | alert (警告)
    group_key        VARCHAR,            -- the department or topic the flag is about, if any
    first_at         TIMESTAMPTZ NOT NULL,
    last_at          TIMESTAMPTZ NOT NULL,
    value            DOUBLE NOT NULL,
    threshold        DOUBLE NOT NULL,
    unit             VARCHAR NOT NULL,
    detail           VARCHAR NOT NULL,
    contacts         INTEGER NOT NULL,
    evidence         VARCHAR[] NOT NULL  -- CDR uniqueids and visit_ids of every contributing contact
);

CREATE TABLE flag_evidence_rows (
    flag_id     VARCHAR NOT NULL,
    contact_id  VARCHAR NOT NULL,
    channel     VARCHAR NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ,
    talk_s      INTEGER NOT NULL,
    department  VARCHAR,
    source_ids  VARCHAR[] NOT NULL
);

CREATE VIEW flags AS SELECT * FROM flag_rows;
CREATE VIEW flag_evidence AS SELECT * FROM flag_evidence_rows;
"""

MIGRATION_3 = """
-- Review decisions, kept apart from flags and keyed by flag_id, so they survive every re-run.
-- Append-only: the latest row for a flag is its status; the earlier ones are its history.
CREATE SEQUENCE review_id_seq START 1;
CREATE TABLE review_rows (
    review_id      INTEGER PRIMARY KEY,
    flag_id        VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,     -- confirmed | dismissed | watching
    note           VARCHAR,
    reviewer       VARCHAR NOT NULL,
    reviewed_at    TIMESTAMPTZ NOT NULL,
    flag_last_at   TIMESTAMPTZ NOT NULL, -- the episode as it was when reviewed: a later last_at means it grew
    flag_severity  VARCHAR NOT NULL,
    requester_key  VARCHAR NOT NULL,
    rule_id        VARCHAR NOT NULL
);

-- One row per `kasuhara nightly`, failed runs included.
CREATE SEQUENCE nightly_id_seq START 1;
CREATE TABLE nightly_runs (
    nightly_id       INTEGER PRIMARY KEY,
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ NOT NULL,
    inbox            VARCHAR NOT NULL,
    status           VARCHAR NOT NULL,   -- ok | rejected_rows | failed
    exit_code        INTEGER NOT NULL,
    profile_version  VARCHAR,
    profile_hash     VARCHAR,
    judge_run_id     INTEGER,            -- NULL when nothing new needed judging
    files_new        INTEGER NOT NULL,
    files_skipped    INTEGER NOT NULL,   -- already ingested (under any name)
    files_waiting    INTEGER NOT NULL,   -- still being written: taken next time
    files_failed     INTEGER NOT NULL,
    rows_read        BIGINT NOT NULL,
    rows_kept        BIGINT NOT NULL,
    rows_rejected    BIGINT NOT NULL,
    rows_duplicate   BIGINT NOT NULL,
    flags            INTEGER,
    flags_new        INTEGER,
    flags_updated    INTEGER,
    flags_gone       INTEGER,
    message          VARCHAR
);
CREATE TABLE nightly_files (
    nightly_id  INTEGER NOT NULL,
    path        VARCHAR NOT NULL,
    kind        VARCHAR,
    outcome     VARCHAR NOT NULL,        -- ingested | already ingested | waiting | failed
    file_id     INTEGER,
    message     VARCHAR
);

CREATE VIEW reviews AS SELECT * FROM review_rows;
CREATE VIEW runs AS SELECT * FROM nightly_runs;

-- Flags with their latest review. needs_review: never reviewed, or the episode grew (or got
-- worse) since the review, so a dismissed flag comes back only when there is something new.
CREATE OR REPLACE VIEW flags AS
WITH latest AS (
    SELECT * FROM review_rows QUALIFY row_number() OVER (PARTITION BY flag_id ORDER BY review_id DESC) = 1
)
SELECT f.*, coalesce(r.status, 'unreviewed') AS review_status, r.reviewer AS reviewed_by, r.reviewed_at,
       r.note AS review_note,
       (r.status IS NULL OR f.last_at > r.flag_last_at OR (f.severity = 'alert' AND r.flag_severity = 'watch'))
           AS needs_review
FROM flag_rows f LEFT JOIN latest r USING (flag_id);
"""

MIGRATION_4 = """
-- Nightly runs judge only the requesters whose contacts changed: how many (NULL: everyone).
ALTER TABLE judge_runs ADD COLUMN requesters_judged INTEGER;
"""

MIGRATION_5 = """
-- The inbox's files as the nightly run last saw them: a file unchanged since (same path, size and
-- modification time) is not read again. A changed or renamed file is read, and known by its content.
CREATE TABLE inbox_files (
    path        VARCHAR PRIMARY KEY,
    size        BIGINT NOT NULL,
    mtime_ns    BIGINT NOT NULL,
    nightly_id  INTEGER NOT NULL
);
"""

MIGRATION_6 = """
-- The clock each file's naive times were read in, and why: 'UTC (UTC, from uniqueids ...)', 'Asia/Tokyo (site time zone)'.
ALTER TABLE ingest_log ADD COLUMN clock VARCHAR;
UPDATE ingest_log SET clock = timezone || ' (site time zone)';

-- What became of each leg, decided on ingest: answered (a person talked), machine (an IVR menu,
-- voicemail or announcement answered), dropped, busy, no_answer, failed. Earlier legs get what
-- the contacts build used to derive.
ALTER TABLE call_legs ADD COLUMN outcome VARCHAR;
UPDATE call_legs SET outcome = CASE
    WHEN answered THEN 'answered'
    WHEN disposition = 'ANSWERED' AND lastapp IN ('VoiceMail', 'VoiceMailMain', 'Playback', 'Background', 'BackGround',
        'Read', 'Record', 'MusicOnHold', 'Echo', 'SayDigits', 'SayNumber', 'Festival') THEN 'machine'
    WHEN disposition = 'ANSWERED' THEN 'dropped'
    WHEN disposition = 'BUSY' THEN 'busy'
    WHEN disposition = 'NO ANSWER' OR disposition IS NULL THEN 'no_answer'
    ELSE 'failed' END;

-- A record delivered more than once with changes (Amazon Connect's LastUpdateTimestamp): the latest of a call wins.
ALTER TABLE call_legs ADD COLUMN record_version TIMESTAMPTZ;

CREATE OR REPLACE VIEW calls AS
SELECT file_id, line, source_format, uniqueid, linkedid, leg_sequence, call_ref,
       CASE WHEN own.number_key IS NULL THEN caller_key END AS requester_key,
       CASE WHEN own.number_key IS NULL THEN caller_class ELSE 'internal' END AS caller_class,
       CASE WHEN own.number_key IS NULL THEN caller_note ELSE 'own number' END AS caller_note,
       dialled, dialled_class, dcontext, lastapp, disposition, outcome, started_at, answered_at, ended_at,
       duration_s, billsec_s, answered, record_version
FROM call_legs LEFT JOIN (SELECT DISTINCT number_key FROM departments WHERE number_key IS NOT NULL) own
     ON own.number_key = call_legs.caller_key;
"""

MIGRATION_7 = """
-- A file of the inbox that failed is remembered with why: later runs skip it until it changes.
ALTER TABLE inbox_files ADD COLUMN failed VARCHAR;   -- NULL: taken (ingested, or known by content)
"""

_MIGRATION_8_SQL = """
-- Raw input and free text have moved to the vault (vault.py): the analysts' database holds none.
ALTER TABLE rejects RENAME TO reject_rows;
ALTER TABLE reject_rows DROP COLUMN raw_text;        -- the line as written: vault.reject_lines
CREATE VIEW rejects AS SELECT file_id, path, line, reason FROM reject_rows;
DROP TABLE visit_summaries;                           -- vault.visit_summaries
ALTER TABLE review_rows ADD COLUMN note_id VARCHAR;   -- the note itself: vault.review_notes
UPDATE review_rows SET note_id = 'N' || review_id WHERE note IS NOT NULL;
ALTER TABLE review_rows DROP COLUMN note;

-- Visits' topics and departments are codes (T-..., D-...); names come from these lists. A visit's
-- duration saturates instead of failing: no stored row can stop a later query.
ALTER TABLE departments ADD COLUMN name_code VARCHAR; -- the code of its department name
CREATE TABLE topic_names (code VARCHAR PRIMARY KEY, name VARCHAR NOT NULL);

CREATE OR REPLACE VIEW visits AS
WITH own AS (SELECT number_key FROM departments WHERE number_key IS NOT NULL),
records AS (
    SELECT *, CASE WHEN phone_key IN (SELECT number_key FROM own) THEN NULL ELSE phone_key END AS person_phone_key
    FROM visit_records
),
department_names AS (SELECT DISTINCT name_code, department FROM departments WHERE name_code IS NOT NULL)
SELECT v.file_id, v.line, v.visit_id, v.arrived_at, v.ended_at,
       coalesce(dn.department, v.department) AS department, v.kind, v.kind_label,
       coalesce(tn.name, v.topic) AS topic,
       coalesce(l1.requester_key, v.person_phone_key, l2.requester_key, v.ref_key) AS requester_key,
       CASE WHEN v.person_phone_key IS NOT NULL THEN 'phone' WHEN v.ref_key IS NOT NULL THEN 'ref' END AS requester_source,
       CASE WHEN v.phone_key IS NOT NULL AND v.person_phone_key IS NULL THEN 'internal' ELSE v.phone_class END AS phone_class,
       v.exit_requested_at,
       CAST(least(epoch(v.ended_at) - epoch(v.arrived_at), 2147483647) AS INTEGER) AS duration_s
FROM records v
LEFT JOIN requester_links l1 ON l1.alias_key = v.person_phone_key
LEFT JOIN requester_links l2 ON l2.alias_key = v.ref_key
LEFT JOIN department_names dn ON dn.name_code = v.department
LEFT JOIN topic_names tn ON tn.code = v.topic;

-- Flags with their latest review: the status, who and when; a note is in the vault.
CREATE OR REPLACE VIEW flags AS
WITH latest AS (
    SELECT * FROM review_rows QUALIFY row_number() OVER (PARTITION BY flag_id ORDER BY review_id DESC) = 1
)
SELECT f.*, coalesce(r.status, 'unreviewed') AS review_status, r.reviewer AS reviewed_by, r.reviewed_at,
       r.note_id IS NOT NULL AS has_review_note,
       (r.status IS NULL OR f.last_at > r.flag_last_at OR (f.severity = 'alert' AND r.flag_severity = 'watch'))
           AS needs_review
FROM flag_rows f LEFT JOIN latest r USING (flag_id);
"""


def _rows(db, sql: str) -> pa.Table:
    return db.con.sql(sql).to_arrow_table()


def migration_8(db) -> None:
    """Move raw lines, summaries, notes and the raw topics and departments of visits to the vault,
    and hold codes and pseudonyms in their place. Coding needs the site secret when there is any."""
    moved = {
        "reject_lines": _rows(
            db,
            """SELECT l.sha256, r.line, r.raw_text FROM rejects r JOIN ingest_log l USING (file_id)
                                     WHERE r.raw_text IS NOT NULL AND r.line IS NOT NULL""",
        ),
        "visit_summaries": _rows(
            db,
            """SELECT l.sha256, s.line, s.visit_id, s.summary FROM visit_summaries s
                                        JOIN ingest_log l USING (file_id)""",
        ),
        "review_notes": _rows(db, "SELECT 'N' || review_id AS note_id, note FROM review_rows WHERE note IS NOT NULL"),
    }
    for table, rows in moved.items():
        if rows.num_rows:
            db.vault().put(table, rows)
    texts = db.con.execute("""
        SELECT 'topic', topic FROM visit_records WHERE topic IS NOT NULL
        UNION SELECT 'department', department FROM visit_records WHERE department IS NOT NULL
        UNION SELECT 'department', department FROM departments
    """).fetchall()
    numbers = db.con.execute("SELECT count(*) FROM departments").fetchall()[0][0]
    if texts or numbers:
        try:
            pseudo = Pseudonymizer(load_secret(db.path, create=False))
        except SecretError as exc:
            raise DatabaseError(
                f"upgrading {db.path} codes its topics, departments and numbers, which needs the "
                f"pseudonym secret: {exc.message}"
            ) from None
        codes = pa.table(
            {
                "kind": arrays.strings(kind for kind, _ in texts),
                "raw": arrays.strings(raw for _, raw in texts),
                "code": arrays.strings(pseudo.code(normal_text(raw) or raw, kind) for kind, raw in texts),
            }
        )
        db.vault().put("raw_values", codes.select(["code", "kind", "raw"]))
        digits = [
            row[0]
            for row in db.con.execute(
                "SELECT number FROM departments WHERE number_key IS NULL AND regexp_full_match(number, '[0-9]{6,}')"
            ).fetchall()
        ]
        keyed = pa.table(
            {"number": arrays.strings(digits), "key": arrays.strings(pseudo.key(d, "digits") for d in digits)}
        )
        scope = ArrowScope(db.con, {"_codes": codes, "_keyed": keyed})
        scope.execute(
            "UPDATE visit_records v SET topic = c.code FROM _codes c WHERE c.kind = 'topic' AND c.raw = v.topic"
        )
        scope.execute(
            "UPDATE visit_records v SET department = c.code FROM _codes c "
            "WHERE c.kind = 'department' AND c.raw = v.department"
        )
        scope.execute(
            "UPDATE departments d SET number = k.key, number_key = k.key FROM _keyed k WHERE k.number = d.number"
        )
        db.con.execute("UPDATE departments SET number = number_key WHERE number_key IS NOT NULL")
        db.con.execute(_MIGRATION_8_SQL)
        scope.execute(
            "UPDATE departments d SET name_code = c.code FROM _codes c "
            "WHERE c.kind = 'department' AND c.raw = d.department"
        )
    else:
        db.con.execute(_MIGRATION_8_SQL)


MIGRATION_9 = """
-- Each time an operator put a requester's phone number on an evidence file (`kasuhara evidence
-- --reveal`): who, when, as which account, and the file. The number itself is never stored.
CREATE SEQUENCE reveal_id_seq START 1;
CREATE TABLE reveal_rows (
    reveal_id      INTEGER PRIMARY KEY,
    requester_key  VARCHAR NOT NULL,
    revealed_by    VARCHAR NOT NULL,     -- the name the operator gave (--by)
    account        VARCHAR NOT NULL,     -- the operating-system account that ran the command
    revealed_at    TIMESTAMPTZ NOT NULL,
    written_to     VARCHAR NOT NULL      -- the evidence file's folder
);
CREATE VIEW reveals AS SELECT * FROM reveal_rows;
"""

MIGRATION_10 = """
-- A rule may take other tiers for some departments (a profile's [rules.X.overrides.NAME]): the
-- flag names the override whose tiers it was judged by, NULL when the rule's own. The flags view
-- selects f.*, which DuckDB binds when queried: it shows the new column as it is.
ALTER TABLE flag_rows ADD COLUMN threshold_override VARCHAR;
"""

MIGRATION_11 = """
-- The last judge run's hits (judge/hits.py): a night measures only what its changes can reach and
-- takes older hits from here. The judge's own working table; flags and evidence are what people read.
CREATE TABLE rule_hits (
    rule_id        VARCHAR NOT NULL,
    requester_key  VARCHAR NOT NULL,
    group_key      VARCHAR,
    window_start   TIMESTAMPTZ NOT NULL,
    window_end     TIMESTAMPTZ NOT NULL,
    value          DOUBLE,
    severity       VARCHAR NOT NULL,
    threshold      DOUBLE,
    override_id    VARCHAR
);
"""

MIGRATION_12 = """
-- A flag's evidence list is read from its evidence rows, in order of start, instead of being
-- stored with the flag: a night that extends a year-long flag writes that night's rows, not the
-- year's list again (1.5M ids of a 10M-record year's flags, most of a new day's writing). The
-- view shows the list where the column stood; a query that does not select it does not read it.
ALTER TABLE flag_rows DROP COLUMN evidence;
CREATE OR REPLACE VIEW flags AS
WITH latest AS (
    SELECT * FROM review_rows QUALIFY row_number() OVER (PARTITION BY flag_id ORDER BY review_id DESC) = 1
), lists AS (
    SELECT flag_id, flatten(list(source_ids ORDER BY started_at, contact_id)) AS evidence
    FROM flag_evidence_rows GROUP BY flag_id
)
SELECT f.* EXCLUDE (threshold_override), coalesce(v.evidence, []) AS evidence, f.threshold_override,
       coalesce(r.status, 'unreviewed') AS review_status, r.reviewer AS reviewed_by, r.reviewed_at,
       r.note_id IS NOT NULL AS has_review_note,
       (r.status IS NULL OR f.last_at > r.flag_last_at OR (f.severity = 'alert' AND r.flag_severity = 'watch'))
           AS needs_review
FROM flag_rows f LEFT JOIN lists v USING (flag_id) LEFT JOIN latest r USING (flag_id);
"""

MIGRATION_13 = """
-- Each stored hit names the flag it belonged to when it was last measured (judge/hits.py): a night
-- reduces a flag's earlier hits by that name instead of joining a year of hits to the flags by time
-- (12M pairs for the 1.7M hits a 10M-record year's new day takes). Stored hits get the flag they
-- lie in now.
ALTER TABLE rule_hits ADD COLUMN flag_id VARCHAR;
UPDATE rule_hits SET flag_id = f.flag_id FROM flag_rows f
WHERE f.requester_key = rule_hits.requester_key AND f.rule_id = rule_hits.rule_id
  AND f.group_key IS NOT DISTINCT FROM rule_hits.group_key
  AND rule_hits.window_start BETWEEN f.first_at AND f.last_at;
"""

MIGRATION_14 = """
-- The requesters whose contacts changed since the last judge run, each from the start of its
-- earliest changed contact (contacts/changes.py): an `ingest` command lists its changes here, and the next
-- `judge` or nightly run judges them as far back as they reach instead of everyone's whole
-- history. One row per change; a requester's earliest counts. A judge run deletes what it judged.
CREATE TABLE unjudged_changes (requester_key VARCHAR NOT NULL, changed_from TIMESTAMPTZ);
"""

MIGRATIONS: list = [
    MIGRATION_1,
    MIGRATION_2,
    MIGRATION_3,
    MIGRATION_4,
    MIGRATION_5,
    MIGRATION_6,
    MIGRATION_7,
    migration_8,
    MIGRATION_9,
    MIGRATION_10,
    MIGRATION_11,
    MIGRATION_12,
    MIGRATION_13,
    MIGRATION_14,
]
