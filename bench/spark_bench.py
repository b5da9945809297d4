"""Spark benchmark: the same profile judged by DuckDB and by Spark in local mode, flags compared byte for byte.

For each size, the judge benchmark's synthetic year (bench/judge_data.sql, cached in --workdir) is judged
once by DuckDB and exported with `kasuhara export` (contacts, flags, evidence; not timed). Then, alternating,
--repeat times, each in a fresh process: DuckDB's `judge` on a fresh copy of the database (opening and
closing not timed, as in bench/judge_bench.py), and the Spark judge over the exported contacts Parquet
(`judge_parquet` on local[*], 12 GB for the driver): Spark's start and the judge are timed apart. Peak RSS
is sampled every 0.2 s over the process and its children (the JVM). The last Spark run's flags.parquet must
equal DuckDB's export byte for byte, and its evidence row for row.

    python bench/spark_bench.py [--sizes 1000000,10000000x1] [--repeat 3] [--workdir bench/work]

(10M contacts: one run of each engine by default, about half an hour on 2 cores.)
"""

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import judge_bench  # noqa: E402  (a sibling script: its synthetic year, its DuckDB measurement)

SPARK_CONF = {"spark.driver.memory": "12g"}
HEADER = (
    "| contacts | DuckDB judge median s | Spark start median s | Spark judge median s | Spark/DuckDB "
    "| DuckDB peak RSS MB | Spark peak RSS MB | DuckDB runs s | Spark runs s |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---|---|"
)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total / 1024


def measured(command: list[str]) -> tuple[dict, float]:
    """Run a child, sampling its process tree's RSS; its JSON result and the peak RSS in MB."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]

    def sample():
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss_mb(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"{command} failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1]), peak[0]


def run_spark(export: Path, out: Path) -> dict:
    from kasuhara_metrics.judge.spark import judge_parquet, spark_session
    from kasuhara_metrics.rules import load_profile

    t = time.perf_counter()
    spark = spark_session("local[*]", SPARK_CONF)
    started = time.perf_counter() - t
    t = time.perf_counter()
    report, _ = judge_parquet(spark, load_profile(), [export], out)
    seconds = time.perf_counter() - t
    version = spark.version
    spark.stop()
    return {"start": started, "seconds": seconds, "flags": report.flags, "spark": version}


def prepared(size: int, workdir: Path) -> tuple[Path, Path]:
    """The cached year of `size` contacts, and its DuckDB judge's export (built once)."""
    data = hashlib.sha256(judge_bench.DATA.read_bytes()).hexdigest()[:8]
    cached = workdir / f"judge-{size}-{data}.duckdb"
    if not cached.exists():
        subprocess.run(
            [sys.executable, judge_bench.__file__, "--one", "build", str(cached), "--contacts", str(size)], check=True
        )
    export = workdir / f"spark-export-{size}-{data}"
    if not (export / "flags.parquet").exists():
        from kasuhara_metrics.common.db import connect
        from kasuhara_metrics.desk.export import export_parquet
        from kasuhara_metrics.judge import judge
        from kasuhara_metrics.rules import load_profile

        copy = workdir / "spark-export.duckdb"
        shutil.copyfile(cached, copy)
        with connect(str(copy)) as db:
            judge(db, load_profile())
            export_parquet(db, export)
        copy.unlink()
    return cached, export


def same_output(export: Path, judged: Path) -> str:
    flags = (judged / "flags.parquet").read_bytes() == (export / "flags.parquet").read_bytes()
    con = duckdb.connect()
    order = "ORDER BY flag_id, started_at, contact_id"
    ours, theirs = (
        con.sql(f"SELECT * FROM read_parquet('{path}') {order}").fetchall()
        for path in (export / "flag_evidence.parquet", judged / "flag_evidence" / "*.parquet")
    )
    count = con.sql(f"SELECT count(*) FROM '{export / 'flags.parquet'}'").fetchall()[0][0]
    return (
        f"flags.parquet {'byte-identical' if flags else 'DIFFERENT'} ({count:,} flags); "
        f"evidence {'identical' if ours == theirs else 'DIFFERENT'} ({len(ours):,} rows)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000000,10000000x1", help="contacts; xN: that size's own --repeat")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=HERE / "work")
    ap.add_argument("--spark-one", nargs=2, metavar=("EXPORT", "OUT"), help=argparse.SUPPRESS)  # a child
    args = ap.parse_args()
    if args.spark_one:
        print(json.dumps(run_spark(Path(args.spark_one[0]), Path(args.spark_one[1]))))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows, checks, version = [], [], "?"
    for item in args.sizes.split(","):
        size, _, times = item.partition("x")
        size, repeat = int(size), int(times or args.repeat)
        cached, export = prepared(size, args.workdir)
        duck, spark = [], []
        for i in range(repeat):
            for mode in ("duckdb", "spark") if i % 2 == 0 else ("spark", "duckdb"):
                if mode == "duckdb":
                    db = args.workdir / "judge-run-engine.duckdb"
                    Path(f"{db}.wal").unlink(missing_ok=True)
                    shutil.copyfile(cached, db)
                    result, rss = measured([sys.executable, judge_bench.__file__, "--one", "engine", str(db)])
                    duck.append((result["seconds"], rss))
                else:
                    out = args.workdir / f"spark-out-{size}"
                    shutil.rmtree(out, ignore_errors=True)
                    result, rss = measured([sys.executable, __file__, "--spark-one", str(export), str(out)])
                    spark.append((result["start"], result["seconds"], rss))
                    version = result["spark"]
                print(f"  {size:,} run {i + 1} {mode:6} {result['seconds']:8.2f} s  peak RSS {rss:7.0f} MB", flush=True)
        checks.append(f"{size:,} contacts: {same_output(export, args.workdir / f'spark-out-{size}')}")
        duck_s, spark_s = statistics.median(s for s, _ in duck), statistics.median(s for _, s, _ in spark)
        rows.append(
            f"| {size:,} | {duck_s:.1f} | {statistics.median(s for s, _, _ in spark):.1f} | {spark_s:.1f} "
            f"| {spark_s / duck_s:.1f}x | {max(r for _, r in duck):,.0f} | {max(r for _, _, r in spark):,.0f} "
            f"| {', '.join(f'{s:.1f}' for s, _ in duck)} | {', '.join(f'{s:.1f}' for _, s, _ in spark)} |"
        )
    text = f"""# Spark benchmark

`python bench/spark_bench.py --sizes {args.sizes} --repeat {args.repeat}`: {judge_bench.machine()}; Spark {version}
(local[*], driver memory {SPARK_CONF["spark.driver.memory"]}); source {judge_bench.source_hash()}

The judge benchmark's synthetic year (bench/judge_data.sql), profile thresholds/bunkyo.toml (9 rules), judged by
DuckDB (the `judge` call on the database, as in bench/results-judge.md) and by Spark in local mode over the
same contacts exported as Parquet (`judge_parquet`: reading, judging, writing flags.parquet and flag_evidence/).
Medians of alternating runs (as many as the runs columns list), each in a fresh process. Spark's start
(the JVM and the session) is timed apart from the judge. Peak RSS: the process and its children (Spark's
JVM), sampled every 0.2 s.

{HEADER}
{chr(10).join(rows)}

Same flags: {"; ".join(checks)}.

Spark on 2 cores is the slower engine by far: it is here for correctness on an engine that scales out
(docs/scale.md), not for speed on one machine.
"""
    print("\n" + text)
    (HERE / "results-spark.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
