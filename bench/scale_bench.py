"""Scale benchmark: the engine's whole nightly batch (ingest + contacts + judge) on a synthetic year of a ward,
against (a) a hand-written DuckDB script and (b) plain pandas on the same files, at 1M and 10M records; each
year also judged month by month; and a nightly increment of one day on top of a year of history.

    python bench/scale_bench.py [--sizes 1000000,10000000] [--repeat 3] [--workdir bench/work]
    make -C bench scale            (the same, with the project's .venv)

What is timed is each whole command, in a fresh child process on a fresh database file (os.wait4 gives the
child's own peak RSS): engine `kasuhara --db X nightly --inbox SYNTH --settle 0 --profile thresholds/bunkyo.toml`
(exit 0 or 3 is success); hand-written `bench/pipeline_handwritten.sql` then `bench/judge_handwritten.sql`;
pandas `bench/pandas_pipeline.py`. At the first size the three alternate, --repeat times each; larger sizes
run once each (--large-repeat) with DuckDB capped at --memory-limit (KASUHARA_MEMORY_LIMIT for the engine,
SET memory_limit for the hand-written script); pandas is stopped above --pandas-max-rss rather than left to the
kernel's OOM killer on a shared machine. Medians, because a shared 2-core VM has slow outliers and drift:
the median of alternating runs shrugs off one slow run and treats the contenders alike.

Synth folders are generated once per size into the workdir (`kasuhara synth --size N`) and reused. The
"pieces" run hard-links the folder's files month by month into an inbox that grows, runs `nightly` after each
month into a second database, and compares its final flags with the one-shot run's. The engine's one-shot run
reads an inbox of hard links to the synth folder's files; the increment copies its database (a year of history),
adds one new day to that same inbox and runs `nightly` again, as a site's nightly batch would: the year's files
are known by path, size and mtime, and the new day is the year's last day shifted by a day (new uniqueids and
visit ids), so it touches requesters with a year of history. The same day then goes in by the README's
commands instead (`ingest calls`, `ingest visits`, `judge`, three processes) on another copy, and its flags
are compared with the nightly increment's.
Results go to bench/results.md (and bench/work/scale-results.json).
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
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECRET = "benchmark-secret-0123456789abcdef-not-for-production"
PROFILE = str(ROOT / "thresholds" / "bunkyo.toml")
FLAG_COLS = (
    "flag_id, rule_id, requester_key, coalesce(group_key, '') AS group_key, severity, first_at, last_at, "
    "round(value, 6) AS value, evidence"
)


def compile_package() -> None:
    """Compile the package's bytecode before timing, as installing it would (pip compiles at install).

    The checkout is installed editable, and with PYTHONDONTWRITEBYTECODE set (as on the bench machine)
    every timed process would compile the package's sources again: ~0.2 s of each start-up.
    """
    import compileall

    compileall.compile_dir(ROOT / "kasuhara_metrics", quiet=1)


def kasuhara() -> list[str]:
    script = Path(sys.executable).parent / "kasuhara"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kasuhara_metrics"]


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all processes), from /proc/stat."""
    ticks = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def watchdog(pid: int, max_mb: float, hit: list) -> None:
    """Kill the process when its RSS passes max_mb: better than the kernel's OOM killer on a shared machine."""
    while True:
        try:
            found = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
        except OSError:
            return
        if found is None:  # exited, not yet reaped
            return
        if int(found[1]) / 1024 > max_mb:
            hit.append(int(found[1]) / 1024)
            os.kill(pid, 9)
            return
        time.sleep(0.25)


def run(label: str, cmd: list[str], log: Path, env: dict | None = None, ok=(0,), max_mb: float | None = None) -> dict:
    """One measurement: the whole command's wall time, its own peak RSS, and how busy everything else was."""
    hit: list = []
    # What earlier steps wrote (a copied 1.3 GB database, the last run's files) reaches the disk first:
    # the kernel's writeback of it during the run cost the 10M increment 2 s of its 8 s.
    os.sync()
    with open(log, "w") as out:
        busy = busy_seconds()
        t = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "KASUHARA_SECRET": SECRET, **(env or {})},
        )
        if max_mb:
            threading.Thread(target=watchdog, args=(proc.pid, max_mb, hit), daemon=True).start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t
    others = busy_seconds() - busy - usage.ru_utime - usage.ru_stime  # other processes' CPU meanwhile
    code = os.waitstatus_to_exitcode(status)
    text = log.read_text(errors="replace")
    r = {
        "label": label,
        "seconds": seconds,
        "rss_mb": usage.ru_maxrss / 1024,
        "exit": code,
        "ok": code in ok,
        "others": max(0.0, others / (seconds * len(os.sched_getaffinity(0)))),
    }
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and lines[-1].startswith("{"):
        r.update(json.loads(lines[-1]))
    elif hit:
        r["error"] = f"stopped by the bench at {hit[0]:,.0f} MB of RSS (its cap) after {seconds:.0f} s"
    elif not r["ok"]:
        r["error"] = (
            f"killed by signal {-code}{' (out of memory?)' if code == -9 else ''}; " if code < 0 else ""
        ) + "\n".join(lines[-5:])
    print(
        f"  {label:34} {seconds:8.2f} s  peak RSS {r['rss_mb']:6.0f} MB  exit {code}  others' CPU {r['others']:4.0%}",
        flush=True,
    )
    return r


def fresh(db: Path) -> Path:
    for p in db.parent.glob(db.name + "*"):
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    return db


def limit_env(limit: str | None) -> dict | None:
    return {"KASUHARA_MEMORY_LIMIT": limit} if limit else None


def engine(synth: Path, db: Path, label: str, limit: str | None) -> dict:
    r = run(
        label,
        kasuhara() + ["--db", str(db), "nightly", "--inbox", str(synth), "--settle", "0", "--profile", PROFILE],
        db.with_suffix(".log"),
        limit_env(limit),
        ok=(0, 3),
    )
    r["db_mb"] = db.stat().st_size / 2**20 if db.exists() else None
    if r["ok"]:  # where the time went, from the run's own records (not timed)
        with duckdb.connect(str(db), read_only=True) as con:
            r["judge_s"], r["requesters_judged"], r["contacts"] = con.execute(
                "SELECT epoch(finished_at) - epoch(started_at), requesters_judged, contacts_judged FROM judge_runs "
                "ORDER BY run_id DESC LIMIT 1"
            ).fetchone() or (None, None, None)
            r["run_s"] = con.execute(
                "SELECT epoch(finished_at) - epoch(started_at) FROM nightly_runs ORDER BY nightly_id DESC LIMIT 1"
            ).fetchone()[0]
    return r


def handwritten_child(synth: str, db: str, limit: str) -> None:
    """(a) in this process: the hand-written pipeline, then the hand-written rules."""
    t0 = time.perf_counter()
    con = duckdb.connect(db)
    if limit:
        con.execute(f"SET memory_limit = '{limit}'")
    quoted = synth.replace("'", "''")
    con.execute(f"SET VARIABLE synth = '{quoted}'")
    marks = []
    for script in ("pipeline_handwritten.sql", "judge_handwritten.sql"):
        for statement in (HERE / script).read_text().split(";\n"):
            if any(line.strip() and not line.strip().startswith("--") for line in statement.splitlines()):
                con.execute(statement)
        marks.append(time.perf_counter())
    contacts = con.execute("SELECT count(*) FROM contacts").fetchone()[0]
    con.close()
    print(json.dumps({"contacts": contacts, "contacts_s": marks[0] - t0, "judge_s": marks[1] - marks[0]}))


def four_child(synth: str, db: str, departments: bool = True) -> None:
    """The README's four commands, each in its own process, as a new user runs them; each one's time.
    Without `departments`: a new day's files by the three commands a site runs each day."""
    folder = Path(synth)
    steps = {"ingest departments": ["ingest", "departments", str(folder / "departments.csv")]} if departments else {}
    steps |= {
        "ingest calls": ["ingest", "calls", *map(str, sorted(folder.glob("calls/*.csv")))],
        "ingest visits": ["ingest", "visits", *map(str, sorted(folder.glob("visits/*.csv")))],
        "judge": ["judge", "--profile", PROFILE],
    }
    seconds = {}
    for name, args in steps.items():
        t = time.perf_counter()
        done = subprocess.run(kasuhara() + ["--db", db, *args], stdout=subprocess.DEVNULL)
        seconds[name] = time.perf_counter() - t
        if done.returncode not in (0, 3):
            raise SystemExit(f"{name} exited with {done.returncode}")
    print(json.dumps({"steps_s": seconds}))


def four_commands(synth: Path, db: Path, label: str) -> dict:
    return run(label, [sys.executable, __file__, "--child-four", str(synth), str(db)], db.with_suffix(".log"))


def handwritten(synth: Path, db: Path, label: str, limit: str | None) -> dict:
    return run(
        label,
        [sys.executable, __file__, "--child-handwritten", str(synth), str(db), limit or ""],
        db.with_suffix(".log"),
    )


def pandas(synth: Path, out: Path, label: str, max_mb: float) -> dict:
    return run(
        label,
        [sys.executable, str(HERE / "pandas_pipeline.py"), str(synth), str(out)],
        out.with_suffix(".log"),
        max_mb=max_mb,
    )


def synthesize(workdir: Path, size: int, log: list) -> Path:
    out = workdir / f"synth-{size}"
    if not (out / ".complete").exists():
        shutil.rmtree(out, ignore_errors=True)
        r = run(
            f"synth --size {size}",
            kasuhara() + ["synth", "--size", str(size), "--out", str(out)],
            workdir / f"synth-{size}.log",
        )
        if not r["ok"]:
            raise SystemExit(f"kasuhara synth failed: {r.get('error')}")
        (out / ".complete").touch()
        log.append(f"generated synth-{size} in {r['seconds']:.0f} s")
    return out


def link_tree(files: list[Path], synth: Path, inbox: Path) -> None:
    for f in files:
        target = inbox / f.relative_to(synth)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            os.link(f, target)


def data_files(synth: Path) -> list[Path]:
    return sorted(synth.glob("calls/*.csv")) + sorted(synth.glob("visits/*.csv"))


def new_day(synth: Path, out: Path) -> str:
    """The year's last day's files, shifted one day later: calls/ and visits/ of a day after the year."""
    last = max(p.stem for p in synth.glob("calls/*.csv"))
    day = (date.fromisoformat(last) + timedelta(days=1)).isoformat()
    uid = re.compile(r',"(\d+)\.([^"]*)",""$')
    for kind in ("calls", "visits"):
        (out / kind).mkdir(parents=True, exist_ok=True)
        lines = (synth / kind / f"{last}.csv").read_text(encoding="utf-8").splitlines()
        if kind == "calls":
            lines = [
                uid.sub(lambda m: f',"{int(m[1]) + 86400}.{m[2]}",""', line.replace(f'"{last} ', f'"{day} '))
                for line in lines
            ]
        else:
            lines = lines[:1] + ["N" + line.replace(f"{last} ", f"{day} ") for line in lines[1:]]
        (out / kind / f"{day}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return day


def flags_query(source: str, key_map: bool = False) -> str:
    """A SELECT of comparable flag columns; hand-written keys and topics mapped to the engine's if asked."""
    if not key_map:
        return f"SELECT {FLAG_COLS} FROM {source}"
    return f"""SELECT 'F' || substr(md5(concat_ws('|', m.ek, rule_id, coalesce(t.ek, group_key, ''),
                      CAST(epoch_ms(first_at) AS VARCHAR))), 1, 16) AS flag_id, rule_id, m.ek AS requester_key,
                  coalesce(t.ek, group_key, '') AS group_key, severity, first_at, last_at, round(value, 6) AS value,
                  evidence
               FROM {source} f JOIN keymap m ON m.k = f.requester_key
               LEFT JOIN topicmap t ON f.rule_id = 'same_topic' AND t.k = f.group_key"""


def compare(a: tuple[str, Path], b: tuple[str, Path], key_map_b: bool = False) -> dict:
    """Flags of two runs (label, .duckdb or .parquet): counts per rule, and rows in one but not the other.

    In a child process: a child's ru_maxrss starts from its parent's RSS (Linux carries the peak across
    fork and exec), so a parent grown by comparing a 10M year's flags would show as the peak of every
    small command measured after it (a new day's run "peaked" at the 1.4 GB the comparison left).
    """
    job = json.dumps([a[0], str(a[1]), b[0], str(b[1]), key_map_b])
    done = subprocess.run([sys.executable, __file__, "--child-compare", job], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"comparing {a[0]} with {b[0]} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare_child(job: str) -> None:
    a_label, a_path, b_label, b_path, key_map_b = json.loads(job)
    print(json.dumps(compare_here((a_label, Path(a_path)), (b_label, Path(b_path)), key_map_b)))


def compare_here(a: tuple[str, Path], b: tuple[str, Path], key_map_b: bool = False) -> dict:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Tokyo'")
    sources = []
    for i, (_, path) in enumerate((a, b)):
        if path.suffix == ".parquet":
            sources.append(f"read_parquet('{path}')")
            continue
        con.execute(f"ATTACH '{path}' AS db{i} (READ_ONLY)")
        tables = {
            t
            for (t,) in con.execute(f"SELECT table_name FROM duckdb_tables() WHERE database_name = 'db{i}'").fetchall()
        }
        sources.append(f"db{i}.{'hw_flags' if 'hw_flags' in tables else 'flags'}")
    if key_map_b:  # 'tel:0...' -> the key of +81..., 'ref:X' -> the key of reference X, as identity.py makes them
        import pyarrow as pa

        from kasuhara_metrics.common.identity import Pseudonymizer

        pseudo = Pseudonymizer(SECRET.encode())
        keys = [k for (k,) in con.execute(f"SELECT DISTINCT requester_key FROM {sources[1]}").fetchall()]
        mapped = [
            pseudo.key("+81" + k[5:])
            if k.startswith("tel:0")
            else pseudo.key(k[4:], "ref")
            if k.startswith("ref:")
            else k
            for k in keys
        ]
        con.register("keymap", pa.table({"k": keys, "ek": mapped}))
        # The baseline groups same_topic by the topic's text; the engine by its name when the site lists
        # it, else by its code (the database holds no other topic text), lower-cased like any topic key.
        from kasuhara_metrics.common.identity import normal_text
        from kasuhara_metrics.rules import load_profile

        listed = {normal_text(t) for t in load_profile(PROFILE).site.topics}
        topics = [
            t
            for (t,) in con.execute(
                f"SELECT DISTINCT group_key FROM {sources[1]} WHERE rule_id = 'same_topic' AND group_key IS NOT NULL"
            ).fetchall()
        ]
        topic_keys = [t if normal_text(t) in listed else pseudo.code(normal_text(t), "topic").lower() for t in topics]
        topic_map = {"k": pa.array(topics, pa.string()), "ek": pa.array(topic_keys, pa.string())}
        con.register("topicmap", pa.table(topic_map))
    qa, qb = flags_query(sources[0]), flags_query(sources[1], key_map_b)
    per_rule: dict = {}
    for side, q in ((a[0], qa), (b[0], qb)):
        for rule, n in con.execute(f"SELECT rule_id, count(*) FROM ({q}) GROUP BY ALL ORDER BY ALL").fetchall():
            per_rule.setdefault(rule, {})[side] = n
    only_a = con.execute(f"SELECT count(*) FROM ({qa} EXCEPT ALL {qb})").fetchone()[0]
    only_b = con.execute(f"SELECT count(*) FROM ({qb} EXCEPT ALL {qa})").fetchone()[0]
    examples = [
        str(row)[:300]
        for q1, q2 in ((qa, qb), (qb, qa))
        for row in con.execute(f"SELECT * FROM ({q1} EXCEPT ALL {q2}) LIMIT 2").fetchall()
    ]
    con.close()
    return {
        "a": a[0],
        "b": b[0],
        "per_rule": per_rule,
        "only_a": only_a,
        "only_b": only_b,
        "identical": only_a == only_b == 0,
        "examples": examples,
    }


def inbox_of(runs: Path, tag: str) -> Path:
    """The engine's one-shot inbox for a size: its database knows these paths."""
    return runs / f"inbox-{tag}"


def year_inbox(size: int, synth: Path, runs: Path) -> Path:
    """The engine's inbox: hard links to the synth folder's files, where the increment can add a day."""
    inbox = inbox_of(runs, f"{size // 1000}k")
    shutil.rmtree(inbox, ignore_errors=True)
    link_tree([synth / "departments.csv"] + data_files(synth), synth, inbox)
    return inbox


def measure_size(
    size: int, synth: Path, runs: Path, repeat: int, limit: str | None, pandas_skip: str | None, pandas_max_mb: float
) -> dict:
    tag = f"{size // 1000}k"
    res = {
        "size": size,
        "engine": [],
        "four": [],
        "handwritten": [],
        "pandas": [],
        "limit": limit,
        "pandas_skipped": pandas_skip,
    }
    inbox = year_inbox(size, synth, runs)
    for i in range(repeat):
        # The four commands at the first size only: the nightly is what a large ward runs.
        order = ["engine", "handwritten", "pandas"] + (["four"] if limit is None else [])
        for kind in order[i % len(order) :] + order[: i % len(order)]:  # rotate who goes first
            if kind == "engine":
                res["engine"].append(
                    engine(inbox, fresh(runs / f"engine-{tag}.duckdb"), f"engine {tag} #{i + 1}", limit)
                )
            elif kind == "four":
                res["four"].append(
                    four_commands(synth, fresh(runs / f"four-{tag}.duckdb"), f"four commands {tag} #{i + 1}")
                )
            elif kind == "handwritten":
                res["handwritten"].append(
                    handwritten(synth, fresh(runs / f"hw-{tag}.duckdb"), f"hand-written {tag} #{i + 1}", limit)
                )
            elif pandas_skip is None:
                res["pandas"].append(
                    pandas(synth, fresh(runs / f"pandas-{tag}.parquet"), f"pandas {tag} #{i + 1}", pandas_max_mb)
                )
    return res


def pieces(size: int, synth: Path, runs: Path, limit: str | None) -> dict:
    """The same year, one nightly run per month into a second database; then its flags against the one-shot's."""
    tag = f"{size // 1000}k"
    inbox, db = runs / f"inbox-pieces-{tag}", fresh(runs / f"pieces-{tag}.duckdb")
    shutil.rmtree(inbox, ignore_errors=True)
    link_tree([synth / "departments.csv"], synth, inbox)
    months: dict[str, list[Path]] = {}
    for f in data_files(synth):
        months.setdefault(f.stem[:7], []).append(f)
    out = {"months": []}
    for month, files in sorted(months.items()):
        link_tree(files, synth, inbox)
        out["months"].append(engine(inbox, db, f"pieces {tag} through {month}", limit))
    out["compare"] = compare(("one-shot", runs / f"engine-{tag}.duckdb"), ("month by month", db))
    return out


def increment(size: int, synth: Path, runs: Path, repeat: int, limit: str | None, profile: bool) -> dict:
    tag = f"{size // 1000}k"
    extra, inbox = runs / f"newday-{tag}", inbox_of(runs, tag)  # its files are known
    shutil.rmtree(extra, ignore_errors=True)
    day = new_day(synth, extra)
    added = [inbox / f.relative_to(extra) for f in data_files(extra)]
    link_tree(data_files(extra), extra, inbox)
    out = {"day": day, "runs": []}
    try:
        for i in range(repeat):
            db = fresh(runs / f"increment-{tag}.duckdb")
            shutil.copyfile(runs / f"engine-{tag}.duckdb", db)  # a year of history, untouched by earlier runs
            out["runs"].append(engine(inbox, db, f"increment {tag} +{day} #{i + 1}", limit))
        # The same day by `ingest calls`, `ingest visits` and `judge`, three processes, as a site that
        # runs the README's commands by hand; then its flags against the nightly increment's.
        out["commands"] = []
        for i in range(repeat):
            db = fresh(runs / f"commands-{tag}.duckdb")
            shutil.copyfile(runs / f"engine-{tag}.duckdb", db)
            child = [sys.executable, __file__, "--child-day", str(extra), str(db)]
            out["commands"].append(
                run(f"commands {tag} +{day} #{i + 1}", child, db.with_suffix(".log"), limit_env(limit))
            )
        if out["commands"][-1]["ok"]:
            out["compare_commands"] = compare(
                ("nightly", runs / f"increment-{tag}.duckdb"), ("commands", runs / f"commands-{tag}.duckdb")
            )
        if profile:
            db = fresh(runs / f"profile-increment-{tag}.duckdb")
            shutil.copyfile(runs / f"engine-{tag}.duckdb", db)
            out["profile"] = profile_engine(inbox, db, f"increment {tag} under cProfile")
        # for reference: the hand-written script has no incremental mode, so a new day means running it all again
        out["handwritten_full"] = handwritten(
            inbox, fresh(runs / f"hw-increment-{tag}.duckdb"), f"hand-written {tag} + day", limit
        )
    finally:  # the inbox is the year again, for whatever runs next
        for f in added:
            f.unlink(missing_ok=True)
    return out


def profile_engine(inbox: Path, db: Path, label: str, top: int = 16) -> dict:
    """One more engine run under cProfile: the package functions that take the time (inclusive)."""
    stats, log = db.with_suffix(".prof"), db.with_suffix(".log")
    r = run(
        label,
        [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(stats),
            "-m",
            "kasuhara_metrics",
            "--db",
            str(db),
            "nightly",
            "--inbox",
            str(inbox),
            "--settle",
            "0",
            "--profile",
            PROFILE,
        ],
        log,
        ok=(0, 3),
    )
    if not r["ok"] or "Error:" in log.read_text(errors="replace"):  # cProfile may hide the exit code
        return {"seconds": r["seconds"], "top": [], "error": log.read_text(errors="replace")[-300:]}
    import pstats

    rows = [
        (f"{file.split('kasuhara_metrics/', 1)[1]}:{func}", calls, inner, total)
        for (file, _, func), (_, calls, inner, total, _) in pstats.Stats(str(stats)).stats.items()
        if "kasuhara_metrics/" in file and "cli/" not in file
    ]
    return {"label": label, "seconds": r["seconds"], "top": sorted(rows, key=lambda row: -row[3])[:top]}


def source_hash() -> str:
    files = (
        sorted((ROOT / "kasuhara_metrics").rglob("*.py")) + sorted(HERE.glob("*.sql")) + [HERE / "pandas_pipeline.py"]
    )
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    import pandas as pd

    return (
        f"nproc {len(os.sched_getaffinity(0))} ({cpu}), {mem:.0f} GiB RAM; Python {platform.python_version()}; "
        f"DuckDB {duckdb.__version__}; pandas {pd.__version__}; {platform.platform()}"
    )


# Two fixed workloads timed at the start and the end of a run: this shared machine's speed drifts by the
# hour (the same hand-written script took 5.1-14.3 s at 1M on one day), and runs made at different hours
# can only be compared beside them. A child process, so that the bench's own RSS stays small.
SPEED_CHILD = """
import json, time, duckdb
t = time.perf_counter(); total = 0
for i in range(10_000_000):
    total += i
python_s = time.perf_counter() - t
con = duckdb.connect(); con.execute("SET threads = 2")
t = time.perf_counter(); con.execute("SELECT sum(hash(i)) FROM range(100_000_000) t(i)").fetchall()
print(json.dumps({"python_s": python_s, "duckdb_s": time.perf_counter() - t}))
"""


def machine_speed() -> dict:
    """Seconds of a pure-Python loop (10^7 additions) and of a DuckDB scan (hash of 10^8 integers, 2 threads)."""
    done = subprocess.run([sys.executable, "-c", SPEED_CHILD], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000000,10000000", help="records per synthetic year, comma-separated")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each contender at the first size")
    ap.add_argument("--large-repeat", type=int, default=1, help="runs of each contender at larger sizes")
    ap.add_argument("--increment-repeat", type=int, default=3)
    ap.add_argument("--memory-limit", default="4GB", help="DuckDB memory limit at the larger sizes")
    ap.add_argument("--pieces", default="all", help="sizes to judge month by month too: all, none, or a list")
    ap.add_argument("--pandas-budget", type=float, default=900, help="skip pandas where its estimate exceeds this (s)")
    ap.add_argument(
        "--pandas-max-rss",
        type=float,
        help="stop pandas above this RSS (MB; default 2/3 of the RAM)",
        default=os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20 * 2 / 3,
    )
    ap.add_argument("--no-profile", action="store_true", help="skip the engine run under cProfile")
    ap.add_argument("--workdir", type=Path, default=HERE / "work")
    ap.add_argument("--out", type=Path, default=HERE / "results.md")
    ap.add_argument("--report-only", action="store_true", help="rewrite results.md from the last JSON")
    ap.add_argument("--child-handwritten", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--child-four", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--child-day", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--child-compare", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_compare:
        return compare_child(args.child_compare)
    if args.child_handwritten:
        return handwritten_child(*args.child_handwritten)
    if args.child_four:
        return four_child(*args.child_four)
    if args.child_day:
        return four_child(*args.child_day, departments=False)
    from scale_report import write_report  # beside this file

    state_file = args.workdir / "scale-results.json"
    if args.report_only:
        return write_report(json.loads(state_file.read_text()), args.out)

    sizes = [int(s) for s in args.sizes.split(",")]
    piece_sizes = (
        sizes if args.pieces == "all" else [] if args.pieces == "none" else [int(s) for s in args.pieces.split(",")]
    )
    runs = args.workdir / "scale"
    runs.mkdir(parents=True, exist_ok=True)
    started = time.time()
    state = {
        "command": " ".join(["python bench/scale_bench.py"] + sys.argv[1:]),
        "machine": machine(),
        "source": source_hash(),
        "started": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "repeat": args.repeat,
        "large_repeat": args.large_repeat,
        "sizes": {},
        "notes": [],
    }

    state["speed_start"] = machine_speed()
    compile_package()
    state["startup_s"] = statistics.median(
        run(f"kasuhara --help #{i + 1}", kasuhara() + ["--help"], runs / "help.log")["seconds"] for i in range(3)
    )

    def save():
        state["elapsed_s"] = time.time() - started
        state_file.write_text(json.dumps(state, indent=1, default=str))
        write_report(state, args.out)

    for n, size in enumerate(sizes):
        tag = f"{size // 1000}k"
        print(f"== {size:,} records", flush=True)
        synth = synthesize(args.workdir, size, state["notes"])
        first = n == 0
        skip = None
        if not first:  # pandas is single-threaded: estimate its time from the first size (memory has a cap)
            p = [r for r in state["sizes"][str(sizes[0])]["runs"]["pandas"] if r["ok"]]
            if p and statistics.median(r["seconds"] for r in p) * size / sizes[0] > args.pandas_budget:
                skip = (
                    f"estimated from {sizes[0]:,} records: "
                    f"~{statistics.median(r['seconds'] for r in p) * size / sizes[0] / 60:.0f} min, over the "
                    f"{args.pandas_budget / 60:.0f} min budget (--pandas-budget)"
                )
        entry = state["sizes"].setdefault(str(size), {})
        entry["synth_mb"] = sum(f.stat().st_size for f in synth.rglob("*.csv")) / 2**20
        entry["runs"] = measure_size(
            size,
            synth,
            runs,
            args.repeat if first else args.large_repeat,
            None if first else args.memory_limit,
            skip,
            args.pandas_max_rss,
        )
        if first and not args.no_profile:
            entry["profile"] = profile_engine(
                inbox_of(runs, tag), fresh(runs / "profile.duckdb"), f"engine {tag} under cProfile"
            )
        save()
        if all(r["ok"] for r in entry["runs"]["handwritten"] + entry["runs"]["engine"]) and entry["runs"]["engine"]:
            entry["compare_hw"] = compare(
                ("engine", runs / f"engine-{tag}.duckdb"), ("hand-written", runs / f"hw-{tag}.duckdb"), key_map_b=True
            )
            if entry["runs"]["four"] and entry["runs"]["four"][-1]["ok"]:
                entry["compare_four"] = compare(
                    ("nightly", runs / f"engine-{tag}.duckdb"), ("four commands", runs / f"four-{tag}.duckdb")
                )
            if entry["runs"]["pandas"] and entry["runs"]["pandas"][-1]["ok"]:
                entry["compare_pandas"] = compare(
                    ("hand-written", runs / f"hw-{tag}.duckdb"), ("pandas", runs / f"pandas-{tag}.parquet")
                )
            save()
            entry["increment"] = increment(
                size,
                synth,
                runs,
                args.increment_repeat,
                None if first else args.memory_limit,
                first and not args.no_profile,
            )
            save()
            if size in piece_sizes:
                entry["pieces"] = pieces(size, synth, runs, None if first else args.memory_limit)
                save()
    if source_hash() != state["source"]:
        state["notes"].append(
            f"WARNING: the package source changed during the run ({state['source']} -> "
            f"{source_hash()}): the figures mix versions; run again"
        )
    state["speed_end"] = machine_speed()
    state["bench_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # every child's RSS floor
    state["finished"] = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    save()
    print(f"wrote {args.out} ({(time.time() - started) / 60:.0f} min)")


if __name__ == "__main__":
    sys.path[:0] = [str(HERE), str(ROOT)]
    main()
