"""Judge benchmark: how much slower is `judge(db, load_profile())` than hand-written SQL for the same rules?

A synthetic year of N contacts (~60,000 requesters, Zipf-skewed with a few hundred heavy users, 85% calls,
10% of calls unanswered, 3% without a requester, bursts of quick redials, long calls and visits, overstays)
is generated once in SQL (bench/judge_data.sql, deterministic) into a cached database in --workdir. Then,
alternating, --repeat times each, on a fresh copy of it in a fresh child process: the engine (the `judge`
call; 9 rules of thresholds/bunkyo.toml, episodes, evidence, stored flags) and bench/judge_handwritten.sql
(the same rules with literal thresholds, written by hand, run as one script). Opening and closing the
database are not timed; peak RSS is the child's ru_maxrss. Both results are then compared flag by flag,
with evidence. Two last instrumented children time the engine's stages and the script's statements.

    python bench/judge_bench.py [--contacts 1000000] [--repeat 3] [--workdir bench/work]
"""

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
HANDWRITTEN = HERE / "judge_handwritten.sql"
DATA = HERE / "judge_data.sql"  # the synthetic contacts; the cached database is named by its hash


def build(path: Path, n: int) -> None:
    """The cached database: the project schema, N contacts; a partial file is never renamed into place."""
    from kasuhara_metrics.common.db import connect

    t, tmp = time.perf_counter(), path.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    with connect(str(tmp)) as db:
        db.con.execute("SET VARIABLE n = $n", {"n": int(n)})
        db.con.execute(DATA.read_text(encoding="utf-8"))
    tmp.rename(path)
    print(f"generated {path} ({n:,} contacts) in {time.perf_counter() - t:.1f} s")


def source_hash() -> str:
    """The package and script being measured; the repository may change under a long run."""
    files = sorted((HERE.parent / "kasuhara_metrics").rglob("*.py")) + [
        HANDWRITTEN,
        HERE.parent / "thresholds" / "bunkyo.toml",
    ]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed(timings: dict, label: str, fn):
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timings[label] = timings.get(label, 0.0) + time.perf_counter() - t  # inclusive seconds

    return wrapper


def run_engine(db_path: Path, stages: bool) -> dict:
    from kasuhara_metrics.common.db import connect
    from kasuhara_metrics.judge import prepare as prepare_module
    from kasuhara_metrics.judge import run as judge_module
    from kasuhara_metrics.judge import store as store_module
    from kasuhara_metrics.rules import load_profile

    database, profile, timings = connect(str(db_path)), load_profile(), {}
    if stages:  # wrap (this process only) the stages and every statement, labelled by rule where it has one
        # Each stage is patched where it is called from: run.py calls the stages, prepare and store their parts.
        for module, name in (
            (judge_module, "prepare"),
            (prepare_module, "prepare_judged"),
            (judge_module, "find_episodes"),
            (judge_module, "compare_with_previous"),
            (store_module, "collect_evidence"),
            (judge_module, "store"),
        ):
            if hasattr(module, name):  # the package is being worked on: a renamed function is just not timed
                setattr(module, name, timed(timings, name, getattr(module, name)))
        find_hits = judge_module.find_hits
        judge_module.find_hits = lambda db, rule, *rest: timed(timings, f"find_hits {rule.id}", find_hits)(
            db, rule, *rest
        )

        class TimedConnection:
            def __init__(self, con):
                self._con = con

            def __getattr__(self, name):
                return getattr(self._con, name)

            def execute(self, sql, params=None):
                rule = params.get("rule_id") if isinstance(params, dict) else None
                what = "hits" if "INTO _hits" in sql else "evidence" if "INTO flag_evidence_rows" in sql else None
                label = f"sql {what} {rule}" if rule and what else "sql: " + " ".join(sql.split())[:60]
                return timed(timings, label, self._con.execute)(sql, *([params] if params is not None else []))

        database.con = TimedConnection(database.con)
    rss_before, had_pandas, t = max_rss_mb(), "pandas" in sys.modules, time.perf_counter()
    report = judge_module.judge(database, profile)
    seconds = time.perf_counter() - t
    database.close()
    return {
        "seconds": seconds,
        "rss_mb": max_rss_mb(),
        "rss_before_mb": rss_before,
        "flags": report.flags,
        "judged": report.contacts_judged,
        "stages": timings,
        "imported_pandas": not had_pandas and "pandas" in sys.modules,
    }


def statement_label(statement: str) -> str:
    """A hit statement's rule id (its comment starts `-- rule_id:`), else its first line of SQL."""
    rule = re.match(r"\s*-- ([a-z_]+):", statement)
    return (
        rule.group(1)
        if rule
        else next(line for line in statement.splitlines() if line.strip() and not line.startswith("--"))[:60]
    )


def run_hand(db_path: Path, stages: bool) -> dict:
    con, script, timings = duckdb.connect(str(db_path)), HANDWRITTEN.read_text(encoding="utf-8"), {}
    rss_before, t = max_rss_mb(), time.perf_counter()
    if stages:
        for statement in (s for s in script.split(";\n") if s.strip()):
            timed(timings, statement_label(statement), con.execute)(statement)
    else:
        con.execute(script)
    seconds = time.perf_counter() - t
    flags = con.execute("SELECT count(*) FROM hw_flags").fetchone()[0]
    con.close()
    return {"seconds": seconds, "rss_mb": max_rss_mb(), "rss_before_mb": rss_before, "flags": flags, "stages": timings}


def child(mode: str, cached: Path, workdir: Path) -> dict:
    db = workdir / f"judge-run-{mode}.duckdb"  # a fresh copy of the cached database for every measurement
    Path(f"{db}.wal").unlink(missing_ok=True)
    shutil.copyfile(cached, db)
    done = subprocess.run([sys.executable, __file__, "--one", mode, str(db)], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verify(engine_db: Path, hand_db: Path) -> tuple[str, list[tuple]]:
    """Flags of both, as (rule, requester, group, first_at, last_at, severity, value, evidence count)."""
    con = duckdb.connect()
    con.execute(
        f"SET TimeZone = 'Asia/Tokyo'; ATTACH '{engine_db}' AS eng (READ_ONLY); ATTACH '{hand_db}' AS hw (READ_ONLY)"
    )
    cols = "rule_id, requester_key, group_key, first_at, last_at, severity, round(value, 6) AS value, contacts"
    diff = con.execute(f"""
        WITH e AS (SELECT {cols} FROM eng.flag_rows), h AS (SELECT {cols} FROM hw.hw_flags)
        SELECT 'engine only' AS side, * FROM (FROM e EXCEPT ALL FROM h)
        UNION ALL SELECT 'hand-written only', * FROM (FROM h EXCEPT ALL FROM e)
        ORDER BY rule_id, requester_key, first_at
    """).fetchall()
    ((flags, hand_flags, same_lists),) = con.execute("""
        SELECT (SELECT count(*) FROM eng.flag_rows), (SELECT count(*) FROM hw.hw_flags),
               (SELECT count(*) FROM eng.flags e JOIN hw.hw_flags h USING (flag_id)
                WHERE e.evidence = h.evidence)""").fetchall()
    rows, hand_rows = (
        con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("eng.flag_evidence_rows", "hw.hw_evidence")
    )
    per_rule = ", ".join(
        f"{r} {n:,}"
        for r, n in con.execute("SELECT rule_id, count(*) FROM eng.flag_rows GROUP BY 1 ORDER BY 2 DESC").fetchall()
    )
    ok = not diff and flags == hand_flags == same_lists and rows == hand_rows
    return (
        f"{'SAME' if ok else 'DIFFERENT'}: engine {flags:,} flags, hand-written {hand_flags:,}; "
        f"{len(diff)} differing (rule, requester, group, first_at, last_at, severity, value, evidence count) rows; "
        f"{same_lists:,} flags with identical evidence lists; evidence rows {rows:,} vs {hand_rows:,}. "
        f"Flags per rule: {per_rule}"
    ), diff


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    return (
        f"nproc {len(os.sched_getaffinity(0))} ({cpu}), {mem:.0f} GiB RAM; Python {platform.python_version()}; "
        f"DuckDB {duckdb.__version__}; {platform.platform()}; {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )


def stage_tables(engine: dict, hand: dict) -> str:
    rules = [k.split(" ", 1)[1] for k in engine if k.startswith("find_hits ")]
    out = [
        "| rule | engine `find_hits` s | of which the hits INSERT s | engine evidence INSERT s "
        "| hand-written hits statement s |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rules:
        out.append(
            f"| {r} | {engine[f'find_hits {r}']:.2f} | {engine.get(f'sql hits {r}', 0):.2f} | "
            f"{engine.get(f'sql evidence {r}', 0):.2f} | {hand.get(r, 0):.2f} |"
        )
    for title, timings in (
        ("Engine, the other stages and statements (a function's time holds its statements)", engine),
        ("Hand-written script, the other statements", hand),
    ):
        out += ["", f"{title}:", "", "| stage | s |", "|---|---:|"]
        out += [
            f"| {k} | {s:.2f} |"
            for k, s in sorted(timings.items(), key=lambda kv: -kv[1])
            if s >= 0.005 and not k.startswith(("find_hits ", "sql hits ", "sql evidence ", *rules))
        ]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=HERE / "work")
    ap.add_argument("--one", nargs=2, metavar=("MODE", "DB"), help=argparse.SUPPRESS)  # a child
    args = ap.parse_args()
    if args.one:
        mode, db = args.one[0], Path(args.one[1])
        if mode == "build":
            return build(db, args.contacts)
        print(json.dumps((run_engine if mode.startswith("engine") else run_hand)(db, mode.endswith("stages"))))
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    cached = args.workdir / f"judge-{args.contacts}-{hashlib.sha256(DATA.read_bytes()).hexdigest()[:8]}.duckdb"
    if not cached.exists():  # in a child: ru_maxrss survives fork and exec, so the parent stays small
        subprocess.run(
            [sys.executable, __file__, "--one", "build", str(cached), "--contacts", str(args.contacts)], check=True
        )
    source = source_hash()
    results: dict[str, list[dict]] = {"engine": [], "hand": []}
    for i in range(args.repeat):
        for mode in ("hand", "engine") if i % 2 == 0 else ("engine", "hand"):
            r = child(mode, cached, args.workdir)
            results[mode].append(r)
            print(f"  run {i + 1} {mode:6} {r['seconds']:7.2f} s  peak RSS {r['rss_mb']:6.0f} MB", flush=True)
    check, diff = verify(args.workdir / "judge-run-engine.duckdb", args.workdir / "judge-run-hand.duckdb")
    print(check, *diff[:20], sep="\n")
    engine_stages, hand_stages = (child(f"{m}-stages", cached, args.workdir) for m in ("engine", "hand"))
    if source_hash() != source:
        source += f" - WARNING: the package, script or profile changed during the run (now {source_hash()}): rerun"

    med, rss, before, runs = (
        {m: f(rs) for m, rs in results.items()}
        for f in (
            lambda rs: statistics.median(r["seconds"] for r in rs),
            lambda rs: max(r["rss_mb"] for r in rs),
            lambda rs: max(r["rss_before_mb"] for r in rs),
            lambda rs: ", ".join(f"{r['seconds']:.2f}" for r in rs),
        )
    )
    e = results["engine"][0]
    pandas_note = (
        "The engine's call imported pandas (DuckDB does on the first `register`/`from_arrow` of an Arrow "
        "table: `_rules` in `prepare`); that import is in its time, in `prepare`."
        if e["imported_pandas"]
        else ""
    )
    shown = "\n".join(f"    {row}" for row in diff[:10]) + ("\n    ..." if len(diff) > 10 else "")
    command = f"`python bench/judge_bench.py --contacts {args.contacts} --repeat {args.repeat}`"
    header = (
        "| contacts | hand-written median s | engine median s | ratio engine/hand-written "
        "| hand-written peak RSS MB (before) | engine peak RSS MB (before) | hand-written runs s | engine runs s |"
    )
    row = (
        f"| {args.contacts:,} | {med['hand']:.2f} | {med['engine']:.2f} | {med['engine'] / med['hand']:.2f}x "
        f"| {rss['hand']:.0f} ({before['hand']:.0f}) | {rss['engine']:.0f} ({before['engine']:.0f}) "
        f"| {runs['hand']} | {runs['engine']} |"
    )
    stages_heading = (
        f"## Where the time goes (one instrumented run each: engine {engine_stages['seconds']:.2f} s, "
        f"hand-written {hand_stages['seconds']:.2f} s)"
    )
    judged = e["judged"]
    text = f"""# Judge benchmark

{command}: {machine()}; source {source}

Synthetic year of {args.contacts:,} contacts ({judged:,} with a requester), profile thresholds/bunkyo.toml (9 rules).
Medians of {args.repeat} alternating runs, each in a fresh process on a fresh copy of the database. Engine: the
`judge(db, load_profile())` call (hits, episodes, evidence, comparison with the previous run, stored flags,
judge_runs and rule_runs, in one transaction); hand-written: `bench/judge_handwritten.sql` run as one script
(the same hits, episodes and evidence into two tables). Opening and closing the database are not timed. Peak
RSS: the largest ru_maxrss of the measurement processes; "before" is after imports and opening, before the timed call.

{header}
|---:|---:|---:|---:|---:|---:|---|---|
{row}

Equality check (last runs' outputs): {check}.
{shown}

{stages_heading}

Single runs on a shared 2-core VM: differences under ~0.1 s are noise. {pandas_note}

{stage_tables(engine_stages["stages"], hand_stages["stages"])}
"""
    print("\n" + text)
    (HERE / "results-judge.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
