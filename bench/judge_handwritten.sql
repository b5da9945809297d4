-- The 9 rules of thresholds/bunkyo.toml written by hand against `contacts`: the baseline of bench/judge_bench.py.
-- Thresholds are literals. One statement per rule finds its hits (rule, requester, group, window s..e, value,
-- severity); hits of one requester, rule and group whose windows overlap merge into one flag (an episode); a
-- flag's evidence is every contact of the requester starting inside its window that the rule looks at.
-- Output: tables hw_flags (one row per flag, with its evidence list) and hw_evidence (one row per contact).
-- The bench runs this file as one script, and splits it at ';' + newline to time each statement: no comment
-- line may end with ';'.
SET TimeZone = 'Asia/Tokyo';

-- Requesters' contacts, with the site-local day, the end (or start) and the normalised topic.
CREATE OR REPLACE TEMP TABLE hw_c AS
SELECT contact_id, requester_key, channel, department, kind, answered, talk_s, started_at, ended_at,
       coalesce(ended_at, started_at) AS end_at, exit_requested_at, source_ids,
       CAST(timezone('Asia/Tokyo', started_at) AS DATE) AS local_day,
       nullif(lower(trim(regexp_replace(topic, '\s+', ' ', 'g'))), '') AS topic_key
FROM contacts
WHERE requester_key IS NOT NULL;

CREATE OR REPLACE TEMP TABLE hw_hits (
    rule_id VARCHAR, requester_key VARCHAR, group_key VARCHAR, s TIMESTAMPTZ, e TIMESTAMPTZ, value DOUBLE, alert BOOLEAN);

-- long_call: one call with at least 30 (alert: 60) minutes of talk
INSERT INTO hw_hits
SELECT 'long_call', requester_key, NULL, started_at, end_at, talk_s / 60.0, talk_s >= 3600
FROM hw_c WHERE channel = 'call' AND talk_s >= 1800;

-- long_visit: one visit of at least 60 (alert: 120) minutes
INSERT INTO hw_hits
SELECT 'long_visit', requester_key, NULL, started_at, end_at, talk_s / 60.0, talk_s >= 7200
FROM hw_c WHERE channel = 'visit' AND talk_s >= 3600;

-- department_day_total: at least 2 answered contacts with one department on one day, 60 minutes together
INSERT INTO hw_hits
SELECT 'department_day_total', requester_key, department, min(started_at), max(end_at), sum(talk_s) / 60.0, FALSE
FROM hw_c WHERE answered AND department IS NOT NULL
GROUP BY requester_key, department, local_day
HAVING count(*) >= 2 AND sum(talk_s) >= 3600;

-- overstay_after_closing: a visit ending more than 15 minutes after 17:15 on its day
INSERT INTO hw_hits
SELECT 'overstay_after_closing', requester_key, NULL, started_at, ended_at, late, FALSE
FROM (SELECT *, (epoch(ended_at) - epoch(timezone('Asia/Tokyo', local_day + INTERVAL '17:15:00'))) / 60.0 AS late
      FROM hw_c WHERE channel = 'visit' AND ended_at IS NOT NULL)
WHERE late > 15;

-- overstay_after_exit_request: a visit ending more than 10 minutes after staff asked the visitor to leave
INSERT INTO hw_hits
SELECT 'overstay_after_exit_request', requester_key, NULL, started_at, ended_at, late, FALSE
FROM (SELECT *, (epoch(ended_at) - epoch(exit_requested_at)) / 60.0 AS late
      FROM hw_c WHERE channel = 'visit' AND exit_requested_at IS NOT NULL AND ended_at IS NOT NULL)
WHERE late > 10;

-- immediate_redial: a call starting 0-5 minutes after the end of the previous call, which was answered,
-- 3 (alert: 6) such redials within any 24 hours. The window starts with the call redialled after.
INSERT INTO hw_hits
SELECT 'immediate_redial', requester_key, NULL, s, end_at, redials, redials >= 6
FROM (
    SELECT requester_key, end_at, count(*) OVER day AS redials, min(previous_start) OVER day AS s
    FROM (
        SELECT requester_key, started_at, end_at, lag(answered) OVER byr AS previous_answered,
               lag(end_at) OVER byr AS previous_end, lag(started_at) OVER byr AS previous_start
        FROM hw_c WHERE channel = 'call'
        WINDOW byr AS (PARTITION BY requester_key ORDER BY started_at, contact_id)
    )
    WHERE previous_answered AND started_at BETWEEN previous_end AND previous_end + INTERVAL 5 MINUTE
    WINDOW day AS (PARTITION BY requester_key ORDER BY started_at RANGE BETWEEN INTERVAL 24 HOUR PRECEDING AND CURRENT ROW)
)
WHERE redials >= 3;

-- cross_department: complaints, demands, inquiries and unknown-kind contacts (answered) reaching at least
-- 3 departments among at least 5 contacts within any 30 days
INSERT INTO hw_hits
SELECT 'cross_department', requester_key, NULL, s, end_at, departments, FALSE
FROM (
    SELECT requester_key, end_at, count(DISTINCT department) OVER month AS departments, count(*) OVER month AS n,
           min(started_at) OVER month AS s
    FROM hw_c
    WHERE answered AND department IS NOT NULL AND kind IN ('complaint', 'demand', 'inquiry', 'unknown')
    WINDOW month AS (PARTITION BY requester_key ORDER BY started_at RANGE BETWEEN INTERVAL 30 DAY PRECEDING AND CURRENT ROW)
)
WHERE n >= 5 AND departments >= 3;

-- same_topic: 3 contacts on one topic within 7 days, or 5 within 30 days (procedures, consultations excluded)
INSERT INTO hw_hits
WITH counted AS MATERIALIZED (
    SELECT requester_key, topic_key, end_at,
           count(*) OVER week AS n7, min(started_at) OVER week AS s7,
           count(*) OVER month AS n30, min(started_at) OVER month AS s30
    FROM hw_c
    WHERE topic_key IS NOT NULL AND kind IN ('complaint', 'demand', 'inquiry', 'other', 'unknown')
    WINDOW week AS (PARTITION BY requester_key, topic_key ORDER BY started_at
                    RANGE BETWEEN INTERVAL 7 DAY PRECEDING AND CURRENT ROW),
           month AS (PARTITION BY requester_key, topic_key ORDER BY started_at
                     RANGE BETWEEN INTERVAL 30 DAY PRECEDING AND CURRENT ROW)
)
SELECT 'same_topic', requester_key, topic_key, s7, end_at, n7, FALSE FROM counted WHERE n7 >= 3
UNION ALL
SELECT 'same_topic', requester_key, topic_key, s30, end_at, n30, FALSE FROM counted WHERE n30 >= 5;

-- frequent_calls: at least 10 answered calls on one day
INSERT INTO hw_hits
SELECT 'frequent_calls', requester_key, NULL, min(started_at), max(end_at), count(*), FALSE
FROM hw_c WHERE channel = 'call' AND answered
GROUP BY requester_key, local_day
HAVING count(*) >= 10;

-- Episodes: a hit starting after every earlier hit (same rule, requester, group) has ended opens a new flag.
CREATE OR REPLACE TEMP TABLE hw_episodes AS
SELECT 'F' || substr(md5(concat_ws('|', requester_key, rule_id, coalesce(group_key, ''),
                                   CAST(epoch_ms(min(s)) AS VARCHAR))), 1, 16) AS flag_id,
       rule_id, requester_key, group_key, min(s) AS first_at, max(e) AS last_at, max(value) AS value,
       CASE WHEN bool_or(alert) THEN 'alert' ELSE 'watch' END AS severity
FROM (
    SELECT *, count(*) FILTER (WHERE previous_e IS NULL OR s > previous_e) OVER (
                  PARTITION BY rule_id, requester_key, group_key ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS episode
    FROM (SELECT *, max(e) OVER (PARTITION BY rule_id, requester_key, group_key ORDER BY s, e
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_e
          FROM hw_hits)
)
GROUP BY rule_id, requester_key, group_key, episode;

-- Evidence: the requester's contacts starting inside the flag's window that its rule looks at.
CREATE OR REPLACE TABLE hw_evidence AS
SELECT f.flag_id, c.contact_id, c.channel, c.started_at, c.ended_at, c.talk_s, c.department, c.source_ids
FROM hw_episodes f JOIN hw_c c
  ON c.requester_key = f.requester_key AND c.started_at BETWEEN f.first_at AND f.last_at
WHERE CASE f.rule_id
          WHEN 'long_call' THEN c.channel = 'call'
          WHEN 'long_visit' THEN c.channel = 'visit'
          WHEN 'department_day_total' THEN c.answered AND c.department = f.group_key
          WHEN 'overstay_after_closing' THEN c.channel = 'visit'
          WHEN 'overstay_after_exit_request' THEN c.channel = 'visit' AND c.exit_requested_at IS NOT NULL
          WHEN 'immediate_redial' THEN c.channel = 'call'
          WHEN 'cross_department' THEN c.answered AND c.department IS NOT NULL
                                       AND c.kind IN ('complaint', 'demand', 'inquiry', 'unknown')
          WHEN 'same_topic' THEN c.topic_key = f.group_key AND c.kind IN ('complaint', 'demand', 'inquiry', 'other', 'unknown')
          WHEN 'frequent_calls' THEN c.channel = 'call' AND c.answered
      END;

CREATE OR REPLACE TABLE hw_flags AS
SELECT f.*, count(v.contact_id) AS contacts,
       coalesce(flatten(list(v.source_ids ORDER BY v.started_at, v.contact_id) FILTER (WHERE v.contact_id IS NOT NULL)), [])
           AS evidence
FROM hw_episodes f LEFT JOIN hw_evidence v USING (flag_id)
GROUP BY ALL;
