"""Floor benchmark: how low could issue 14's ratio targets go, whatever the ingest did?

Three targets compare the engine with a baseline that does less: the 1M-record `nightly` within 1.3x of
the hand-written SQL, the README's four commands within 1.5x of it, and `ingest calls` of a 1M-row CDR
file within 1.5x of a bare `read_csv`. This bench times, in the same run, the parts of the engine that
no faster ingest removes, and adds them up as if the ingest cost nothing beyond a bare `read_csv` of the
same files:

- start-up: `kasuhara --help`, a whole process (Python and the package's imports);
- reading: `CREATE TABLE ... AS SELECT * FROM read_csv(...)` of the year's call and visit files (or of
  the CDR file), the statements alone (no process start, no checkpoint at close): no decoding, checks,
  rejects, pseudonyms, duplicate check, file log or vault;
- contacts: `contacts.rebuild` of the engine's own database of those records into an emptied table (as the
  one-shot `nightly` builds it), with its commit;
- judge: the judge's own seconds in the engine's `nightly` run of the same year (`judge_runs`).

The floor of `nightly` is start-up + reading + contacts + judge; of the four commands four start-ups
+ reading + contacts + judge; of `ingest calls` reading + contacts (the command brings the contacts up to
its files). A floor above its target means the target asks the engine to read, check, pseudonymise,
de-duplicate and store every record faster than DuckDB reads the bare CSV. Contenders alternate,
--repeat times each; medians. A larger size (the 10M-record year, whose target is 2x of the hand-written
SQL) runs --large-repeat times with DuckDB capped at --memory-limit, as bench/scale_bench.py runs it, and
without the four commands or the CDR file: as there, the first of --sizes is the 1M-record year, uncapped,
with the 1M targets, and every later size is capped, with the 10M target. Results go to
bench/results-floor.md.

    python bench/floor_bench.py [--sizes 1000000,10000000] [--repeat 3] [--large-repeat 1] [--workdir bench/work]
"""

import argparse
import json
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_bench as sb  # noqa: E402  (the bench folder is not a package)

HERE = Path(__file__).resolve().parent
CDR_COLUMNS = (
    "accountcode src dst dcontext clid channel dstchannel lastapp lastdata start answer end duration billsec "
    "disposition amaflags uniqueid userfield"
).split()


def read_child(db: str, calls: str, visits: str, limit: str) -> None:
    """The bare read of the files: CREATE TABLE AS read_csv, every column VARCHAR, timed alone."""
    con = duckdb.connect(db)
    if limit != "-":  # "-": no cap
        con.execute(f"SET memory_limit = '{limit}'")
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in CDR_COLUMNS)
    t = time.perf_counter()
    con.execute(
        f"CREATE TABLE calls AS SELECT * FROM read_csv('{calls}', columns={{{columns}}}, header=false, "
        "auto_detect=false, quote='\"', escape='\"')"
    )
    if visits:
        con.execute(f"CREATE TABLE visits AS SELECT * FROM read_csv('{visits}', header=true, all_varchar=true)")
    seconds = time.perf_counter() - t
    con.close()
    print(json.dumps({"part_s": seconds}))


def contacts_child(db: str) -> None:
    """The engine's full contacts build of a database's stored records, and its commit, timed alone."""
    from kasuhara_metrics import contacts
    from kasuhara_metrics.common.db import connect

    with connect(db) as database:
        # Built into an empty table, as the engine's one-shot run builds it: not over a year's rows to delete.
        database.con.execute("DELETE FROM contacts")
        database.con.execute("CHECKPOINT")
        t = time.perf_counter()
        with database.transaction():
            contacts.rebuild(database)
        print(json.dumps({"part_s": time.perf_counter() - t}))


def copy_db(source: Path, target: Path) -> Path:
    sb.fresh(target)
    for path in source.parent.glob(source.name + "*"):
        if path.is_file() and not path.name.endswith(".lock"):
            shutil.copyfile(path, target.parent / path.name.replace(source.name, target.name, 1))
    return target


def measure(size: int, repeat: int, limit: str | None, workdir: Path) -> dict:
    """Every contender's runs at one size, alternating; the CDR file and the four commands at 1M only."""
    log: list = []
    synth = sb.synthesize(workdir, size, log)
    runs = workdir / "floor"
    runs.mkdir(parents=True, exist_ok=True)
    kinds = ["hand", "engine", "start", "read", "contacts"]
    cdr = workdir / f"Master-{size}.csv"
    if limit is None:
        if not cdr.exists():
            raise SystemExit(f"{cdr} is missing: `python bench/ingest_bench.py --rows {size}` writes it")
        kinds += ["four", "read_cdr", "contacts_cdr"]
        # The CDR file's database, for its contacts build: ingested once, not timed.
        done = sb.run(
            "ingest calls (CDR, setup)",
            sb.kasuhara() + ["--db", str(sb.fresh(runs / "cdr.duckdb")), "ingest", "calls", str(cdr)],
            runs / "cdr.log",
            ok=(0, 3),
        )
        if not done["ok"]:
            raise SystemExit(done.get("error"))
    calls_glob, visits_glob = str(synth / "calls" / "*.csv"), str(synth / "visits" / "*.csv")
    limit_env = sb.limit_env(limit)
    res: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for i in range(repeat):
        for kind in kinds[i % len(kinds) :] + kinds[: i % len(kinds)]:
            label = f"{kind} {size:,} #{i + 1}"
            if kind == "hand":
                r = sb.handwritten(synth, sb.fresh(runs / "hand.duckdb"), label, limit)
            elif kind == "engine":
                r = sb.engine(synth, sb.fresh(runs / "engine.duckdb"), label, limit)
            elif kind == "four":
                r = sb.four_commands(synth, sb.fresh(runs / "four.duckdb"), label)
            elif kind == "start":
                r = sb.run(label, sb.kasuhara() + ["--help"], runs / "start.log")
            elif kind in ("read", "read_cdr"):
                files = [calls_glob, visits_glob] if kind == "read" else [str(cdr), ""]
                r = sb.run(
                    label,
                    [
                        sys.executable,
                        __file__,
                        "--child-read",
                        str(sb.fresh(runs / "read.duckdb")),
                        *files,
                        limit or "-",
                    ],
                    runs / "read.log",
                )
            else:
                source = runs / ("engine.duckdb" if kind == "contacts" else "cdr.duckdb")
                r = sb.run(
                    label,
                    [sys.executable, __file__, "--child-contacts", str(copy_db(source, runs / "contacts.duckdb"))],
                    runs / "contacts.log",
                    limit_env,
                )
            if not r["ok"]:
                raise SystemExit(f"{label} failed: {r.get('error')}")
            res[kind].append(r)
    return res


def floors(size: int, res: dict[str, list[dict]], limit: str | None) -> list[tuple]:
    """(target, ratio, baseline s, baseline name, floor s, its parts, the engine's s or None) per target."""

    def median(kind: str, key: str = "seconds") -> float:
        return statistics.median(r[key] for r in res[kind])

    hand, engine = median("hand"), median("engine")
    start, judge = median("start"), median("engine", "judge_s")
    read, built = median("read", "part_s"), median("contacts", "part_s")
    parts = f"start-up {start:.2f} + reading {read:.2f} + contacts {built:.2f} + judge {judge:.2f}"
    if limit is not None:
        name = f"{size:,} records in one go, DuckDB capped at {limit}"
        return [(name, 2.0, hand, "hand-written SQL", start + read + built + judge, parts, engine)]
    read_cdr, built_cdr = median("read_cdr", "part_s"), median("contacts_cdr", "part_s")
    return [
        (f"{size:,} records, `nightly`", 1.3, hand, "hand-written SQL", start + read + built + judge, parts, engine),
        (
            f"{size:,} records, the README's four commands",
            1.5,
            hand,
            "hand-written SQL",
            4 * start + read + built + judge,
            f"4 start-ups {4 * start:.2f} + reading {read:.2f} + contacts {built:.2f} + judge {judge:.2f}",
            median("four"),
        ),
        (
            f"`ingest calls` of {size:,} CDR rows",
            1.5,
            read_cdr,
            "bare `read_csv`",
            read_cdr + built_cdr,
            f"reading {read_cdr:.2f} + contacts {built_cdr:.2f}",
            None,
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--large-repeat", type=int, default=1)
    ap.add_argument("--memory-limit", default="4GB", help="DuckDB's cap above the first size")
    ap.add_argument("--workdir", type=Path, default=HERE / "work")
    ap.add_argument("--child-read", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--child-contacts", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_read:
        return read_child(*args.child_read)
    if args.child_contacts:
        return contacts_child(args.child_contacts)

    started = datetime.now(UTC)
    sb.compile_package()
    speed_before = sb.machine_speed()
    sizes = [int(size) for size in args.sizes.split(",")]
    measured = []
    for n, size in enumerate(sizes):
        limit = None if n == 0 else args.memory_limit
        res = measure(size, args.repeat if n == 0 else args.large_repeat, limit, args.workdir)
        measured.append((size, res, floors(size, res, limit)))
    speed_after = sb.machine_speed()
    finished = datetime.now(UTC)
    lines = [
        "# Floor benchmark: what issue 14's ratio targets leave for the ingest",
        "",
        f"`python bench/floor_bench.py --sizes {args.sizes} --repeat {args.repeat} --large-repeat "
        f"{args.large_repeat}` ({started:%Y-%m-%d %H:%M}-{finished:%H:%M} UTC). {sb.machine()}. "
        f"Source hash: {sb.source_hash()}.",
        "",
        f"- Machine speed (lower is faster): a pure-Python loop of 10^7 additions {speed_before['python_s']:.2f} s "
        f"at the start, {speed_after['python_s']:.2f} s at the end; DuckDB hashing 10^8 integers "
        f"{speed_before['duckdb_s']:.2f} s, {speed_after['duckdb_s']:.2f} s.",
        "",
        __doc__.split("\n\n", 1)[1].split("\n\n    python")[0].strip(),
        "",
        "| target | baseline (median s) | the target allows s | floor s (median parts) | floor ratio "
        "| left for all the ingest does beyond a bare read s | engine now |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for _, _, rows in measured:
        for name, ratio, base, base_name, floor, parts, now in rows:
            lines.append(
                f"| {name} within {ratio}x | {base_name}: {base:.2f} | {ratio * base:.2f} | {floor:.2f} = {parts} "
                f"| **{floor / base:.2f}x** | {ratio * base - floor:.2f} "
                f"| {f'{now:.2f} s = {now / base:.2f}x' if now else 'bench/results-ingest.md'} |"
            )
    for size, res, _ in measured:
        lines += ["", f"Each part's runs at {size:,} records (s):", ""]
        for kind, results in res.items():
            key = "part_s" if kind.startswith(("read", "contacts")) else "seconds"
            peak = max(r["rss_mb"] for r in results)
            lines.append(f"- {kind}: " + ", ".join(f"{r[key]:.2f}" for r in results) + f" (peak RSS {peak:,.0f} MB)")
        lines.append("- judge (the engine runs' own): " + ", ".join(f"{r['judge_s']:.2f}" for r in res["engine"]))
    (HERE / "results-floor.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
