-- A hand-written DuckDB pipeline for a `kasuhara synth` folder (the baseline of bench/scale_bench.py): the
-- engine's ingest + contacts + judge in substance, written the way an analyst would, for synth-shaped data only.
-- The caller sets the folder first: SET VARIABLE synth = '/path/to/synth'; bench/judge_handwritten.sql, run
-- after this script on the same connection, applies the 9 Bunkyo rules to the `contacts` table written here.
--
-- Simplifications (the engine does more; the synth data does not need it):
--   * no decoding (the files are UTF-8), no row checks, no rejects, no duplicate check, no sha256 file log,
--   * a caller is `src`, else the number inside `clid`; its key is 'tel:' + its digits: no phonenumbers
--     validation, no pseudonym (HMAC); staff are callers of <= 5 digits or context from-internal, withheld
--     callers have no digits: neither gets a requester,
--   * the legs of a call share a uniqueid (no linkedid, no merging of id-less records),
--   * a call's talk time is the SUM of its answered legs' billsec (the engine takes the union of their
--     answer..end intervals: the same for the synth's transfers, whose legs follow each other),
--     its department is that of the last answered leg's extension (else the last leg's),
--   * a visitor is 'tel:' + the phone's digits, else 'ref:' + requester_ref (no linking of the two).
-- The script splits at ';' + newline: no comment line may end with ';'.
SET TimeZone = 'Asia/Tokyo';

CREATE OR REPLACE TABLE departments AS
SELECT regexp_replace(number, '[^0-9]', '', 'g') AS number, department
FROM read_csv(getvariable('synth') || '/departments.csv', header = true, all_varchar = true);

-- Call legs, typed: naive times are site time (the session time zone), answered = staff talked.
CREATE OR REPLACE TABLE legs AS
WITH raw AS (
    SELECT * FROM read_csv(getvariable('synth') || '/calls/*.csv', header = false, auto_detect = false,
        quote = '"', escape = '"', columns = {
            'accountcode': 'VARCHAR', 'src': 'VARCHAR', 'dst': 'VARCHAR', 'dcontext': 'VARCHAR', 'clid': 'VARCHAR',
            'channel': 'VARCHAR', 'dstchannel': 'VARCHAR', 'lastapp': 'VARCHAR', 'lastdata': 'VARCHAR',
            'start': 'VARCHAR', 'answer': 'VARCHAR', 'end': 'VARCHAR', 'duration': 'VARCHAR', 'billsec': 'VARCHAR',
            'disposition': 'VARCHAR', 'amaflags': 'VARCHAR', 'uniqueid': 'VARCHAR', 'userfield': 'VARCHAR'})
), caller AS (
    SELECT *, regexp_replace(coalesce(nullif(src, ''), regexp_extract(clid, '<([^>]*)>', 1)), '[^0-9]', '', 'g')
                  AS digits
    FROM raw
)
SELECT uniqueid,
       CASE WHEN length(digits) > 5 AND coalesce(dcontext, '') <> 'from-internal' THEN 'tel:' || digits END
           AS requester_key,
       d.department,
       CAST(start AS TIMESTAMPTZ) AS started_at,
       CAST(nullif("answer", '') AS TIMESTAMPTZ) AS answered_at,
       CAST("end" AS TIMESTAMPTZ) AS ended_at,
       CAST(billsec AS INTEGER) AS billsec,
       disposition = 'ANSWERED' AND CAST(billsec AS INTEGER) > 0
           AND coalesce(lastapp, '') NOT IN ('VoiceMail', 'Playback', 'Background', 'Read') AS answered
FROM caller LEFT JOIN departments d ON d.number = regexp_replace(caller.dst, '[^0-9]', '', 'g');

CREATE OR REPLACE TABLE visit_records AS
SELECT visit_id,
       CAST(arrived_at AS TIMESTAMPTZ) AS arrived_at,
       CAST(nullif(ended_at, '') AS TIMESTAMPTZ) AS ended_at,
       nullif(department, '') AS department,
       CASE coalesce(kind, '') WHEN '苦情' THEN 'complaint' WHEN '要望' THEN 'demand' WHEN '問合せ' THEN 'inquiry'
           WHEN '手続' THEN 'procedure' WHEN '相談' THEN 'consultation' WHEN 'その他' THEN 'other'
           WHEN '' THEN 'unknown' ELSE lower(kind) END AS kind,
       nullif(topic, '') AS topic,
       CASE WHEN length(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')) > 5
            THEN 'tel:' || regexp_replace(phone, '[^0-9]', '', 'g')
            WHEN nullif(trim(requester_ref), '') IS NOT NULL THEN 'ref:' || trim(requester_ref) END AS requester_key,
       CAST(nullif(exit_requested_at, '') AS TIMESTAMPTZ) AS exit_requested_at
FROM read_csv(getvariable('synth') || '/visits/*.csv', header = true, all_varchar = true);

-- Contacts of requesters: calls (their legs grouped by uniqueid) and visits, with the columns the rules read.
CREATE OR REPLACE TABLE contacts AS
SELECT 'call:' || uniqueid AS contact_id, 'call' AS channel, any_value(requester_key) AS requester_key,
       coalesce(arg_max(department, ended_at) FILTER (WHERE answered), arg_max(department, ended_at)) AS department,
       'unknown' AS kind, CAST(NULL AS VARCHAR) AS topic,
       min(started_at) AS started_at, max(ended_at) AS ended_at,
       CAST(coalesce(sum(billsec) FILTER (WHERE answered), 0) AS INTEGER) AS talk_s,
       bool_or(answered) AS answered, [uniqueid] AS source_ids, CAST(NULL AS TIMESTAMPTZ) AS exit_requested_at
FROM legs WHERE requester_key IS NOT NULL
GROUP BY uniqueid
UNION ALL
SELECT 'visit:' || visit_id, 'visit', requester_key, department, kind, topic, arrived_at, ended_at,
       coalesce(CAST(epoch(ended_at) - epoch(arrived_at) AS INTEGER), 0), TRUE, [visit_id], exit_requested_at
FROM visit_records WHERE requester_key IS NOT NULL;
