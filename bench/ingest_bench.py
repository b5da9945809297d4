"""Ingest benchmark: how much slower is `ingest_files` than a bare DuckDB load of the same CSV?

A seeded synthetic year of a large ward's Asterisk cdr_csv (18 columns, N rows, ~60,000 skewed
callers, withheld and internal calls, empty unquoted answer on unanswered rows) is generated once
and cached in --workdir. Then, alternating the order, --repeat times each, into a new database file:
baseline is `CREATE TABLE raw AS SELECT * FROM read_csv(...)` with 18 VARCHAR columns; ingest is
`ingest_files(db, "calls", [csv])` (parse, checks, pseudonyms, duplicates, insert, contacts rebuild).
Each measurement is a child process, so its peak RSS (ru_maxrss) is its own. Medians, because a
shared 2-core VM has outliers (neighbours, writeback) and the median of alternating runs shrugs off
one slow run and drift. A last instrumented child times the stages by wrapping package functions
and SQL statements in-process (the package is not edited), then adds a 2,000-row file to that
database, showing what a later small ingest costs once a year of legs is stored.

    python bench/ingest_bench.py [--rows 1000000] [--repeat 3] [--workdir bench/work]
"""

from __future__ import annotations

import argparse, json, os, platform, resource, statistics, subprocess, sys, time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECRET = "benchmark-secret-0123456789abcdef-not-for-production"
INCREMENT = "Master-increment-2000.csv"  # a small later export added to the full database
COLUMNS = ("accountcode src dst dcontext clid channel dstchannel lastapp lastdata start answer end "
           "duration billsec disposition amaflags uniqueid userfield").split()


def generate(path: Path, rows: int, seed: int = 20251001, chunk: int = 100_000) -> None:
    """Write `rows` cdr_csv-18 rows in start order: office hours on weekdays from 2025-10-01."""
    import numpy as np

    rng = np.random.default_rng(seed)
    mobiles = np.unique(rng.integers(10**7, 10**8, 60_000))[:51_000]  # 0x0-0xxx-xxxx is not a mobile
    lands = np.unique(rng.integers(3 * 10**7, 7 * 10**7, 10_000))[:9_000]
    pool = np.array([f"0{p}{m:08d}" for p, m in zip(rng.choice(["90", "80", "70"], len(mobiles)), mobiles)]
                    + [f"03{n:08d}" for n in lands])
    rng.shuffle(pool)
    skew = 1.0 / (np.arange(len(pool)) + 50.0) ** 1.2  # a few callers call very often
    weights = 0.5 / len(pool) + 0.5 * skew / skew.sum()
    days = np.arange(np.datetime64("2025-10-01"), np.datetime64("2026-10-01"))
    days = days[np.is_busday(days)].astype("datetime64[s]").astype(np.int64)
    starts = np.sort(rng.choice(days, rows) + rng.integers(8 * 3600 + 1800, 17 * 3600 + 900, rows))
    exts = np.arange(201, 281).astype(str)
    tmp = path.with_suffix(".partial")
    with open(tmp, "w", encoding="utf-8", newline="\n") as out:
        for lo in range(0, rows, chunk):
            n = min(chunk, rows - lo)
            kind, outbound = rng.random(n), rng.random(n) < 0.5  # kind < .01 empty CLI, < .02 anonymous,
            callers = pool[rng.choice(len(pool), n, p=weights)]   # < .05 internal, else external
            ext_src, ext_dst = rng.choice(exts, n), rng.choice(exts, n)
            disp = rng.choice(np.array(["ANSWERED", "NO ANSWER", "BUSY"]), n, p=[0.85, 0.10, 0.05])
            ring = rng.integers(2, 26, n)
            talk = np.clip(rng.lognormal(5.0, 0.9, n).astype(np.int64), 1, 3600)
            start = starts[lo:lo + n]; answer = start + ring
            end = np.where(disp == "ANSWERED", answer + talk, start + np.where(disp == "BUSY", 1, ring))
            fmt = lambda a: np.char.replace(np.datetime_as_string(a.astype("datetime64[s]")), "T", " ")
            s_txt, a_txt, e_txt = fmt(start), fmt(answer), fmt(end)
            lines = []
            for i in range(n):
                seq, k, d, dst = lo + i, kind[i], disp[i], ext_dst[i]
                if 0.02 <= k < 0.05:
                    src, dst = ext_src[i], callers[i] if outbound[i] else dst
                    ctx, clid, chan = "from-internal", f'"""{src}"" <{src}>"', f"SIP/{src}-{seq:08x}"
                else:
                    src = "" if k < 0.01 else "anonymous" if k < 0.02 else callers[i]
                    clid = '""""" <>"' if k < 0.01 else f'"""{src}"" <{src}>"'
                    ctx, chan = "from-trunk", f"SIP/trunk-{seq:08x}"
                dchan = f"SIP/{'trunk' if len(dst) > 3 else dst}-{seq + 1:08x}"
                answered = d == "ANSWERED"
                bill, ans = (int(end[i] - answer[i]), f'"{a_txt[i]}"') if answered else (0, "")
                lines.append(f'"","{src}","{dst}","{ctx}",{clid},"{chan}","{dchan}","Dial","SIP/{dst},30",'
                             f'"{s_txt[i]}",{ans},"{e_txt[i]}",{end[i] - start[i]},{bill},"{d}","DOCUMENTATION",'
                             f'"{start[i] - 9 * 3600}.{seq}",""\n')  # uniqueid: UTC epoch of a JST start
            out.write("".join(lines))
    tmp.rename(path)


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def fresh(db: Path) -> None:
    for path in (db, Path(f"{db}.wal")):
        path.unlink(missing_ok=True)


def run_baseline(csv: Path, db: Path) -> dict:
    import duckdb

    fresh(db)
    t0 = time.perf_counter()
    con = duckdb.connect(str(db))
    cols = ", ".join(f"'{c}': 'VARCHAR'" for c in COLUMNS)
    t1 = time.perf_counter()
    con.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv('{csv}', columns={{{cols}}}, header=false, "
                "auto_detect=false, quote='\"', escape='\"')")
    seconds = time.perf_counter() - t1
    rows = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    con.close()
    return {"seconds": seconds, "open_to_close": time.perf_counter() - t0, "rows": rows, "rss_mb": max_rss_mb()}


def run_ingest(csv: Path, db: Path, stages: bool = False) -> dict:
    os.environ["KASUHARA_SECRET"] = SECRET  # before importing: no secret file is created
    from kasuhara_metrics.db import connect
    from kasuhara_metrics.ingest import IngestOptions, ingest_files

    fresh(db)
    out: dict = {}
    t0 = time.perf_counter()
    database = connect(str(db))
    for path, key in [(csv, "")] + [(csv.parent / INCREMENT, "increment_")] * stages:
        if stages:
            instrument(database, out.setdefault(f"{key}stages", {}))
        t1 = time.perf_counter()
        report = ingest_files(database, "calls", [str(path)], IngestOptions())
        out[f"{key}seconds"] = time.perf_counter() - t1
        if report.failures:
            raise SystemExit(f"ingest failed: {report.failures}")
        f = report.files[0]
        out[f"{key}counts"] = dict(rows_read=f.rows_read, kept=f.kept, rejected=f.rejected,
                                   duplicates=f.duplicates, contacts=report.contacts)
    database.close()
    return {**out, "open_to_close": time.perf_counter() - t0, "rss_mb": max_rss_mb()}


def instrument(database, timings: dict) -> None:
    """Wrap package functions and SQL statements (this process only): inclusive seconds, peak RSS after."""
    import importlib

    def timed(label, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds, _ = timings.get(label, (0.0, 0.0))
                timings[label] = (seconds + time.perf_counter() - t, max_rss_mb())
        wrapper.unwrapped = fn = getattr(fn, "unwrapped", fn)  # re-instrumenting replaces, never nests
        return wrapper

    for name in ("ingest.file_bytes ingest.read_asterisk ingest.encoding.to_utf8 ingest.csvread.sample_rows "
                 "ingest.asterisk.detect_layout ingest.csvread.read_csv_rows ingest.csvread._arrow_parse "
                 "ingest.csvread._place_lines ingest.calls.canonical_table ingest.store_calls "
                 "ingest.calls._register_identities ingest.calls.identify_values ingest.calls.write_rejects "
                 "ingest.filelog.write_log contacts.rebuild").split():
        mod, attr = importlib.import_module(f"kasuhara_metrics.{name.rsplit('.', 1)[0]}"), name.rsplit(".", 1)[1]
        setattr(mod, attr, timed(name, getattr(mod, attr)))

    class TimedConnection:
        def __init__(self, con):
            self._con = getattr(con, "_con", con)

        def __getattr__(self, name):
            return getattr(self._con, name)

        def execute(self, sql, *args):
            return timed("sql: " + " ".join(sql.split())[:60], self._con.execute)(sql, *args)

    database.con = TimedConnection(database.con)


def child(mode: str, csv: Path, db: Path) -> dict:
    cmd = [sys.executable, __file__, "--one", mode, "--csv", str(csv), "--db", str(db)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "KASUHARA_SECRET": SECRET})
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    import duckdb

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) / 2**20
    return (f"nproc {len(os.sched_getaffinity(0))} ({cpu}), {mem:.0f} GiB RAM; Python {platform.python_version()}; "
            f"DuckDB {duckdb.__version__}; {platform.platform()}; {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")


def stage_table(timings: dict) -> str:
    rows = sorted(timings.items(), key=lambda kv: -kv[1][0])
    return "| stage | s | peak RSS MB after |\n|---|---:|---:|\n" + "\n".join(
        f"| {k} | {s:.2f} | {m:.0f} |" for k, (s, m) in rows if s >= 0.01)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=HERE / "work")
    ap.add_argument("--one", choices=["baseline", "ingest", "stages"], help=argparse.SUPPRESS)
    ap.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        run = run_baseline if args.one == "baseline" else run_ingest
        print(json.dumps(run(args.csv, args.db, True) if args.one == "stages" else run(args.csv, args.db)))
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    csv = args.workdir / f"Master-{args.rows}.csv"
    for path, rows, seed in ((csv, args.rows, 20251001), (args.workdir / INCREMENT, 2000, 7)):
        if not path.exists():  # the row count is in the name; a partial file is never renamed into place
            t = time.perf_counter()
            generate(path, rows, seed)
            print(f"generated {path} in {time.perf_counter() - t:.1f} s")
    csv.read_bytes()  # page cache warm for both contenders
    results: dict[str, list[dict]] = {"baseline": [], "ingest": []}
    for i in range(args.repeat):
        for mode in ("baseline", "ingest") if i % 2 == 0 else ("ingest", "baseline"):
            r = child(mode, csv, args.workdir / f"{mode}.duckdb")
            results[mode].append(r)
            print(f"  run {i + 1} {mode:8} {r['seconds']:7.2f} s  peak RSS {r['rss_mb']:6.0f} MB", flush=True)
    assert all(r["rows"] == args.rows for r in results["baseline"]), "baseline lost rows"
    c = results["ingest"][0]["counts"]
    ok = c["rows_read"] == c["kept"] + c["rejected"] + c["duplicates"] == args.rows
    check = (f"rows read {c['rows_read']:,} = kept {c['kept']:,} + rejected {c['rejected']:,} + duplicates "
             f"{c['duplicates']:,}: {'OK' if ok else 'MISMATCH'}; {c['contacts']:,} contacts")
    print(check)
    st = child("stages", csv, args.workdir / "stages.duckdb")

    med = {m: statistics.median(r["seconds"] for r in rs) for m, rs in results.items()}
    wall = {m: statistics.median(r["open_to_close"] for r in rs) for m, rs in results.items()}
    rss = {m: max(r["rss_mb"] for r in rs) for m, rs in results.items()}
    runs = {m: ", ".join(f"{r['seconds']:.2f}" for r in rs) for m, rs in results.items()}
    text = f"""# Ingest benchmark

`python bench/ingest_bench.py --rows {args.rows} --repeat {args.repeat}`: {machine()}

Synthetic cdr_csv-18 `Master.csv`, {csv.stat().st_size / 2**20:.0f} MiB. Medians of {args.repeat} alternating runs, each in
a fresh process and database file. Baseline: the `CREATE TABLE raw AS SELECT * FROM read_csv(...)`
statement; ingest: the `ingest_files` call (contacts rebuild included). Peak RSS: the largest
ru_maxrss of the measurement processes. Median connect-to-close: baseline {wall['baseline']:.2f} s, ingest {wall['ingest']:.2f} s.

| rows | baseline median s | ingest median s | ratio ingest/baseline | baseline peak RSS MB | ingest peak RSS MB | baseline runs s | ingest runs s |
|---:|---:|---:|---:|---:|---:|---|---|
| {args.rows:,} | {med['baseline']:.2f} | {med['ingest']:.2f} | {med['ingest'] / med['baseline']:.1f}x | {rss['baseline']:.0f} | {rss['ingest']:.0f} | {runs['baseline']} | {runs['ingest']} |

Correctness: {check}.

## Stages of one instrumented ingest ({st['seconds']:.2f} s)

Inclusive times (a function's figure contains what it calls); single run, so noisier than the medians.

{stage_table(st['stages'])}

## Then a 2,000-row file into that database ({st['increment_seconds']:.2f} s, single run)

{stage_table(st['increment_stages'])}
"""
    print("\n" + text)
    (HERE / "results-ingest.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
