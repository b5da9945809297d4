"""Ingest benchmark: how much slower is `ingest_files` than a bare DuckDB load of the same CSV?

A seeded synthetic year of a large ward's Asterisk cdr_csv-18 (N rows, ~60,000 skewed callers, withheld
and internal calls) is generated once into --workdir. Then, alternating, --repeat times each, into a new
database: baseline `CREATE TABLE raw AS SELECT * FROM read_csv(...)` (18 VARCHAR columns) and ingest
`ingest_files(db, "calls", [csv])` (parse, checks, pseudonyms, duplicates, insert, contacts rebuild).
Each runs in a child process, so its peak RSS is its own. Medians: on a shared 2-core VM the median of
alternating runs shrugs off one slow run and drift. A last instrumented child times the stages (package
functions and SQL wrapped in-process), then adds a 2,000-row file, as a later small ingest would.

    python bench/ingest_bench.py [--rows 1000000] [--repeat 3] [--workdir bench/work]
"""

import argparse
import hashlib
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np

HERE = Path(__file__).resolve().parent
SECRET = "benchmark-secret-0123456789abcdef-not-for-production"
INCREMENT = "Master-increment-2000.csv"  # a small later export added to the full database
COLUMNS = (
    "accountcode src dst dcontext clid channel dstchannel lastapp lastdata start answer end "
    "duration billsec disposition amaflags uniqueid userfield"
).split()
WRAPPED = (
    "ingest.driver.file_bytes ingest.driver.read_file ingest.encoding.to_utf8 ingest.csvread.sample_rows "
    "ingest.csvread.read_csv_rows ingest.csvread._arrow_parse ingest.csvread._place_lines "
    "ingest.driver.store_records contacts.refresh"
).split()


def generate(path: Path, rows: int, seed: int, chunk: int = 100_000) -> None:
    """Write `rows` cdr_csv-18 rows in start order: office hours on weekdays from 2025-10-01."""
    t0, rng = time.perf_counter(), np.random.default_rng(seed)
    mobiles = zip(rng.choice(["90", "80", "70"], 51_000), rng.integers(10**7, 10**8, 51_000), strict=True)  # not 0x0-0
    pool = np.unique([f"0{p}{m}" for p, m in mobiles] + [f"03{n}" for n in rng.integers(3 * 10**7, 7 * 10**7, 9_000)])
    rng.shuffle(pool)
    skew = 1.0 / (np.arange(len(pool)) + 50.0) ** 1.2  # half the calls: a few callers call very often
    weights = 0.5 / len(pool) + 0.5 * skew / skew.sum()
    days = np.arange(np.datetime64("2025-10-01"), np.datetime64("2026-10-01"))
    days = days[np.is_busday(days)].astype("datetime64[s]").astype(np.int64)
    starts = np.sort(rng.choice(days, rows) + rng.integers(8 * 3600 + 1800, 17 * 3600 + 900, rows))
    exts = np.arange(201, 281).astype(str)

    def fmt(a):
        return np.char.replace(np.datetime_as_string(a.astype("datetime64[s]")), "T", " ")

    tmp = path.with_suffix(".partial")
    with open(tmp, "w", encoding="utf-8", newline="\n") as out:
        for lo in range(0, rows, chunk):
            n = min(chunk, rows - lo)
            kind = rng.random(n)  # < .01 empty CLI, < .02 anonymous, < .05 staff extension, else outside
            callers, outbound = pool[rng.choice(len(pool), n, p=weights)], rng.random(n) < 0.5
            ext_src, ext_dst = rng.choice(exts, n), rng.choice(exts, n)
            disp = rng.choice(np.array(["ANSWERED", "NO ANSWER", "BUSY"]), n, p=[0.85, 0.10, 0.05])
            ring, talk = rng.integers(2, 26, n), np.clip(rng.lognormal(5.0, 0.9, n).astype(np.int64), 1, 3600)
            start, answer = starts[lo : lo + n], starts[lo : lo + n] + ring
            end = np.where(disp == "ANSWERED", answer + talk, start + np.where(disp == "BUSY", 1, ring))
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
                bill, ans = (int(end[i] - answer[i]), f'"{a_txt[i]}"') if d == "ANSWERED" else (0, "")
                lines.append(
                    f'"","{src}","{dst}","{ctx}",{clid},"{chan}","{dchan}","Dial","SIP/{dst},30",'
                    f'"{s_txt[i]}",{ans},"{e_txt[i]}",{end[i] - start[i]},{bill},"{d}","DOCUMENTATION",'
                    f'"{start[i] - 9 * 3600}.{seq}",""\n'
                )  # uniqueid: UTC epoch of a JST start
            out.write("".join(lines))
    tmp.rename(path)
    print(f"generated {path} in {time.perf_counter() - t0:.1f} s")


def source_hash() -> str:
    """The package source being measured; the repository may change under a long run."""
    files = sorted((HERE.parent / "kasuhara_metrics").rglob("*.py"))
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_baseline(csv: Path, db: Path) -> dict:
    con = duckdb.connect(str(db))
    cols = ", ".join(f"'{c}': 'VARCHAR'" for c in COLUMNS)
    t = time.perf_counter()
    con.execute(
        f"CREATE TABLE raw AS SELECT * FROM read_csv('{csv}', columns={{{cols}}}, header=false, "
        "auto_detect=false, quote='\"', escape='\"')"
    )
    seconds = time.perf_counter() - t
    rows = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    con.close()
    return {"seconds": seconds, "rows": rows, "rss_mb": max_rss_mb()}


def run_ingest(csv: Path, db: Path, stages: bool = False) -> dict:
    os.environ["KASUHARA_SECRET"] = SECRET  # before importing: no secret file is created
    from kasuhara_metrics.common.db import connect
    from kasuhara_metrics.ingest import IngestOptions, ingest_files

    out: dict = {}
    database = connect(str(db))
    for path, key in [(csv, "")] + [(csv.parent / INCREMENT, "increment_")] * stages:
        if stages:
            instrument(database, out.setdefault(f"{key}stages", {}))
        t = time.perf_counter()
        report = ingest_files(database, "calls", [str(path)], IngestOptions())
        out[f"{key}seconds"] = time.perf_counter() - t
        if report.failures:
            raise SystemExit(f"ingest failed: {report.failures}")
        f = report.files[0]
        out[f"{key}counts"] = dict(
            rows_read=f.rows_read, kept=f.kept, rejected=f.rejected, duplicates=f.duplicates, contacts=report.contacts
        )
    database.close()
    return {**out, "rss_mb": max_rss_mb()}


def instrument(database, timings: dict) -> None:
    """Wrap package functions and SQL statements (this process only): inclusive seconds, peak RSS after."""

    def timed(label, fn):
        fn = getattr(fn, "unwrapped", fn)  # instrumenting again replaces the wrapper, never nests it

        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timings[label] = (timings.get(label, (0.0,))[0] + time.perf_counter() - t, max_rss_mb())

        wrapper.unwrapped = fn
        return wrapper

    for name in WRAPPED:
        module, attr = name.rsplit(".", 1)
        mod = importlib.import_module(f"kasuhara_metrics.{module}")
        if hasattr(mod, attr):  # the package is being worked on: a renamed function is just not timed
            setattr(mod, attr, timed(name, getattr(mod, attr)))
    # The call store names its identity functions per column: time them there.
    from kasuhara_metrics.ingest.stores.calls import CallStore

    CallStore.identities = {column: timed(f"identify {column}", f) for column, f in CallStore.identities.items()}

    class TimedConnection:
        def __init__(self, con):
            self._con = getattr(con, "_con", con)

        def __getattr__(self, name):
            return getattr(self._con, name)

        def execute(self, sql, *args):
            return timed("sql: " + " ".join(sql.split())[:60], self._con.execute)(sql, *args)

    # The batch's Arrow tables are found by DuckDB in the frame that runs a statement (ArrowScope):
    # with this wrapper's frames in between, it must look further up the stack.
    database.con.execute("SET python_scan_all_frames = true")
    database.con = TimedConnection(database.con)


def child(mode: str, csv: Path, db: Path) -> dict:
    for path in (db, Path(f"{db}.wal")):  # a fresh database file for every measurement
        path.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--one", mode, str(csv), str(db)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "KASUHARA_SECRET": SECRET})
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    return (
        f"nproc {len(os.sched_getaffinity(0))} ({cpu}), {mem:.0f} GiB RAM; Python {platform.python_version()}; "
        f"DuckDB {duckdb.__version__}; {platform.platform()}; {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )


def stage_table(timings: dict) -> str:
    rows = sorted(timings.items(), key=lambda kv: -kv[1][0])
    return "| stage | s | peak RSS MB after |\n|---|---:|---:|\n" + "\n".join(
        f"| {k} | {s:.2f} | {m:.0f} |" for k, (s, m) in rows if s >= 0.01
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=HERE / "work")
    ap.add_argument("--one", nargs=3, metavar=("MODE", "CSV", "DB"), help=argparse.SUPPRESS)  # a child
    args = ap.parse_args()
    if args.one:
        mode, csv, db = args.one[0], Path(args.one[1]), Path(args.one[2])
        print(json.dumps(run_baseline(csv, db) if mode == "baseline" else run_ingest(csv, db, mode == "stages")))
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    csv = args.workdir / f"Master-{args.rows}.csv"
    for path, rows, seed in ((csv, args.rows, 20251001), (args.workdir / INCREMENT, 2000, 7)):
        if not path.exists():  # the row count is in the name; a partial file is never renamed into place
            generate(path, rows, seed)
    csv.read_bytes()  # page cache warm for both contenders
    source = source_hash()
    results: dict[str, list[dict]] = {"baseline": [], "ingest": []}
    for i in range(args.repeat):
        for mode in ("baseline", "ingest") if i % 2 == 0 else ("ingest", "baseline"):
            r = child(mode, csv, args.workdir / f"{mode}.duckdb")
            results[mode].append(r)
            print(f"  run {i + 1} {mode:8} {r['seconds']:7.2f} s  peak RSS {r['rss_mb']:6.0f} MB", flush=True)
    assert all(r["rows"] == args.rows for r in results["baseline"]), "baseline lost rows"
    c = results["ingest"][0]["counts"]
    ok = c["rows_read"] == c["kept"] + c["rejected"] + c["duplicates"] == args.rows
    check = (
        f"rows read {c['rows_read']:,} = kept {c['kept']:,} + rejected {c['rejected']:,} + duplicates "
        f"{c['duplicates']:,}: {'OK' if ok else 'MISMATCH'}; {c['contacts']:,} contacts"
    )
    print(check)
    st = child("stages", csv, args.workdir / "stages.duckdb")
    if source_hash() != source:
        source += f" - WARNING: the package source changed during the run (now {source_hash()}): rerun"

    med, rss, runs = (
        {m: f(rs) for m, rs in results.items()}
        for f in (
            lambda rs: statistics.median(r["seconds"] for r in rs),
            lambda rs: max(r["rss_mb"] for r in rs),
            lambda rs: ", ".join(f"{r['seconds']:.2f}" for r in rs),
        )
    )
    command = f"`python bench/ingest_bench.py --rows {args.rows} --repeat {args.repeat}`"
    header = (
        "| rows | baseline median s | ingest median s | ratio ingest/baseline "
        "| baseline peak RSS MB | ingest peak RSS MB | baseline runs s | ingest runs s |"
    )
    row = (
        f"| {args.rows:,} | {med['baseline']:.2f} | {med['ingest']:.2f} | {med['ingest'] / med['baseline']:.1f}x "
        f"| {rss['baseline']:.0f} | {rss['ingest']:.0f} | {runs['baseline']} | {runs['ingest']} |"
    )
    csv_mib = csv.stat().st_size / 2**20
    text = f"""# Ingest benchmark

{command}: {machine()}; kasuhara_metrics source {source}

Synthetic cdr_csv-18 `Master.csv`, {csv_mib:.0f} MiB. Medians of {args.repeat} alternating runs, each in
a fresh process and database file. Baseline: the `CREATE TABLE raw AS SELECT * FROM read_csv(...)`
statement; ingest: the `ingest_files` call (contacts rebuild included); opening and closing the
database are not timed. Peak RSS: the largest ru_maxrss of the measurement processes.

{header}
|---:|---:|---:|---:|---:|---:|---|---|
{row}

Correctness: {check}.

## Stages of one instrumented ingest ({st["seconds"]:.2f} s, single run; inclusive: a function's time holds its calls)

{stage_table(st["stages"])}

## Then the 2,000-row `{INCREMENT}` into that database ({st["increment_seconds"]:.2f} s, single run)

{stage_table(st["increment_stages"])}
"""
    print("\n" + text)
    (HERE / "results-ingest.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
