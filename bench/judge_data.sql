-- Synthetic contacts for bench/judge_bench.py: N (the variable n) contacts of a year (2025-10-01 .. 2026-10-01, weekdays, office
-- hours in Asia/Tokyo), deterministic: every random choice is u(i, k), the k-th uniform [0, 1) of row i.
-- ~60,000 requesters: half the contacts from anyone, half Zipf-skewed (s = 1.2, a few hundred heavy users); 3%
-- without a requester (withheld, staff); 85% calls, 10% of them unanswered (busy, no_answer); lognormal talk
-- times (calls median 3 min, visits 15 min); departments 70% one's own; visits with a kind and a topic (spelling
-- variants, a few empty), 1% without an end, 1% with an exit request; 2% of 8-row blocks are a redialer's burst
-- of 3-8 calls to one department, 6 minutes apart. The bench caches the result under a hash of this file.
-- z(x, k) is a standard normal (Box-Muller). h(x, k) hashes x * 1000 + k, not (x, k): DuckDB combines several
-- arguments' hashes so that their top bits stay correlated.
CREATE OR REPLACE TEMP MACRO h(x, k) AS CAST(hash(CAST(x AS BIGINT) * 1000 + k) >> 1 AS BIGINT);
CREATE OR REPLACE TEMP MACRO u(x, k) AS (h(x, k) >> 10) / 9007199254740992.0;
CREATE OR REPLACE TEMP MACRO z(x, k) AS sqrt(-2 * ln(1 - u(x, k))) * cos(2 * pi() * u(x, k + 100));
CREATE OR REPLACE TEMP TABLE gen_days AS
    SELECT CAST(row_number() OVER (ORDER BY d) - 1 AS BIGINT) AS n, CAST(d AS DATE) AS day
    FROM range(TIMESTAMP '2025-10-01', TIMESTAMP '2026-10-01', INTERVAL 1 DAY) t(d) WHERE isodow(d) <= 5;
INSERT INTO contacts BY NAME
WITH base AS (
    SELECT i, i // 8 AS g, i % 8 AS pos,
           u(i // 8, 1) < 0.02 AND i % 8 < 3 + h(i // 8, 2) % 6 AS burst  -- a redialer's 3-8 calls, 6 min apart
    FROM range(getvariable('n')) t(i)
), who AS (
    SELECT *, CASE WHEN burst THEN g ELSE i END AS seed,
           CASE WHEN burst THEN floor(3000 * pow(u(g, 3), 2))
                WHEN u(i, 4) < 0.5 THEN floor(60000 * u(i, 5))  -- half the contacts: anyone; half: Zipf s=1.2
                ELSE floor(pow(pow(50, -0.2) - u(i, 5) * (pow(50, -0.2) - pow(60050, -0.2)), -5) - 50) END AS r,
           NOT burst AND u(i, 6) < 0.15 AS visit, NOT burst AND u(i, 7) < 0.03 AS anonymous
    FROM base
), timed AS (
    SELECT w.*, timezone('Asia/Tokyo', d.day + to_seconds(CASE
               WHEN burst THEN 32400 + floor(u(g, 26) * 21600) + pos * 360  -- from 09:00-15:00
               WHEN visit THEN 30600 + floor(u(i, 8) * 30600)               -- 08:30-17:00
               ELSE 30600 + floor(u(i, 8) * 31500) END)) AS started_at,     -- 08:30-17:15
           CASE WHEN visit THEN CASE WHEN u(i, 9) < 0.01 THEN 0  -- no end logged
                                     ELSE least(21600, greatest(60, round(exp(ln(900) + 0.75 * z(i, 10))))) END
                WHEN u(i, 11) < (CASE WHEN burst THEN 0.05 ELSE 0.10 END) THEN 0  -- busy, no answer
                WHEN burst THEN 60 + h(i, 12) % 180
                ELSE least(10800, greatest(5, round(exp(ln(180) + 0.9 * z(i, 13))))) END AS talk,
           2 + h(i, 14) % 24 AS ring
    FROM who w JOIN gen_days d ON d.n = floor(u(seed, 15) * (SELECT count(*) FROM gen_days))
), shaped AS (
    SELECT *, CASE WHEN anonymous THEN NULL ELSE 'R' || left(md5('requester-' || r), 16) END AS requester_key,
           NOT visit AND talk > 0 AS answered_call, u(i, 20) AS k,
           ['区民課', '税務課', '国保年金課', '福祉政策課', '子育て支援課', '生活福祉課', '道路課', 'リサイクル清掃課', '介護保険課'][
               1 + CASE WHEN burst OR u(i, 16) < 0.7 THEN h(r, 17) ELSE h(i, 17) END % 9] AS dept,  -- 70% one's own
           ['住民税', '国民健康保険', '住民票', '保育園', 'ごみ収集', '道路 補修', 'Parking permit', '騒音'][
               1 + CASE WHEN u(i, 18) < 0.5 THEN h(r, 19) ELSE h(i, 19) END % 8] AS topic0
    FROM timed
)
SELECT CASE WHEN visit THEN 'visit:' ELSE 'call:' END || i AS contact_id, CASE WHEN visit THEN 'visit' ELSE 'call' END AS channel,
       requester_key,
       CASE WHEN NOT anonymous THEN CASE WHEN visit AND k < 0.2 THEN 'ref' ELSE 'external' END
            WHEN visit THEN 'none' WHEN k < 0.6 THEN 'withheld' ELSE 'internal' END AS caller_class,
       CASE WHEN visit THEN 'visit' WHEN anonymous AND k >= 0.6 THEN 'internal' ELSE 'inbound' END AS direction,
       CASE WHEN NOT visit AND u(i, 21) < 0.02 THEN NULL ELSE dept END AS department,
       CASE WHEN NOT visit THEN 'unknown' WHEN k < 0.15 THEN 'complaint' WHEN k < 0.25 THEN 'demand'
            WHEN k < 0.5 THEN 'inquiry' WHEN k < 0.8 THEN 'procedure' WHEN k < 0.95 THEN 'consultation' ELSE 'other' END
           AS kind,
       CASE WHEN NOT visit OR u(i, 22) < 0.03 THEN NULL WHEN u(i, 22) < 0.04 THEN ''
            WHEN u(i, 22) < 0.08 THEN ' ' || replace(upper(topic0), ' ', '  ') ELSE topic0 END AS topic,  -- spelling variants
       started_at, CASE WHEN visit THEN started_at WHEN answered_call THEN started_at + to_seconds(ring) END AS answered_at,
       CASE WHEN NOT (visit AND talk = 0) THEN started_at + to_seconds(talk + CASE WHEN visit THEN 0 ELSE ring END) END
           AS ended_at,
       talk AS talk_s, talk + CASE WHEN visit THEN 0 ELSE ring END AS span_s, visit OR answered_call AS answered,
       CASE WHEN visit THEN 'visit' WHEN answered_call THEN 'answered' WHEN u(i, 11) < 0.04 THEN 'busy' ELSE 'no_answer' END
           AS outcome,
       CASE WHEN NOT visit AND u(i, 23) < 0.03 THEN 2 ELSE 1 END AS legs,  -- a transferred call: two legs, two ids
       CASE WHEN visit THEN ['V' || lpad(CAST(i AS VARCHAR), 8, '0')]
            ELSE [CAST(epoch(started_at) AS BIGINT) || '.' || i]
                 || CASE WHEN u(i, 23) < 0.03 THEN [CAST(epoch(started_at) AS BIGINT) || '.' || i || 'b'] ELSE [] END END
           AS source_ids,
       CASE WHEN visit AND talk > 0 AND u(i, 24) < 0.01 THEN started_at + to_seconds(greatest(0, talk - h(i, 25) % 1800)) END
           AS exit_requested_at
FROM shaped;
