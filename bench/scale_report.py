"""bench/results.md from the state bench/scale_bench.py collects (also re-rendered with --report-only)."""

import statistics
from pathlib import Path

# Issue 14's targets: ratios to the hand-written SQL measured in the same run, seconds, megabytes.
NIGHTLY_RATIO, FOUR_RATIO, LARGE_RATIO, LARGE_RSS_MB = 1.3, 1.5, 2.0, 5 * 1024
INCREMENT_S = {1_000_000: 2.0, 10_000_000: 5.0}


def med(runs: list[dict], key: str = "seconds"):
    values = [r[key] for r in runs if r.get("ok") and r.get(key) is not None]
    return statistics.median(values) if values else None


def f(x, digits=2, unit=""):
    return "-" if x is None else f"{x:,.{digits}f}{unit}"


def contender_rows(runs: dict, size: int) -> list[str]:
    hw = med(runs["handwritten"])
    rows = []
    for kind, name in (
        ("engine", "engine `nightly`"),
        ("four", "engine, the README's four commands"),
        ("handwritten", "(a) hand-written SQL"),
        ("pandas", "(b) pandas"),
    ):
        rs = runs.get(kind)
        if kind == "four" and not rs:
            continue
        if not rs:
            rows.append(f"| {size:,} | {name} | skipped: {runs.get('pandas_skipped') or 'not run'} | | | | | | |")
            continue
        m = med(rs)
        if kind == "engine":
            split = f"{f(med(rs, 'judge_s'))} judge"
        elif kind == "four":
            steps = [r["steps_s"] for r in rs if r.get("steps_s")]
            split = " + ".join(f(statistics.median(s[name] for s in steps)) for name in steps[0]) if steps else "-"
        else:
            split = f"{f(med(rs, 'contacts_s'))} + {f(med(rs, 'judge_s'))}"
        failed = [r for r in rs if not r["ok"]]
        rows.append(
            f"| {size:,} | {name} | {f(m)} | {seconds_list(rs)} | "
            f"{f(m / hw if m and hw else None, 2, 'x')} | {max(r['rss_mb'] for r in rs):,.0f} | {split} | "
            f"{others(rs)} | "
            f"{'FAILED: ' + failed[0].get('error', '')[:200].replace(chr(10), ' ') if failed else 'ok'} |"
        )
    return rows


def others(runs: list[dict]) -> str:
    return f"{max(r.get('others', 0) for r in runs):.0%}"


def all_runs(state: dict) -> list[dict]:
    found = []
    for entry in state["sizes"].values():
        found += [r for rs in entry["runs"].values() if isinstance(rs, list) for r in rs]
        increment = entry.get("increment") or {}
        found += (
            increment.get("runs", []) + increment.get("commands", []) + (entry.get("pieces") or {}).get("months", [])
        )
    return found


def profile_table(p: dict) -> list[str]:
    if p.get("error"):
        return [f"The run under cProfile failed: `{p['error']}`", ""]
    return (
        [
            f"{p.get('label', 'one engine run under cProfile')}: {p['seconds']:.1f} s. "
            "Inclusive seconds (a function's time holds its calls', SQL "
            "included); cProfile adds some overhead.",
            "",
            "| function | calls | own s | inclusive s |",
            "|---|---:|---:|---:|",
        ]
        + [f"| {name} | {calls:,} | {own:.1f} | {total:.1f} |" for name, calls, own, total in p["top"]]
        + [""]
    )


def seconds_list(runs: list[dict]) -> str:
    return ", ".join(f"{r['seconds']:.2f}" + ("" if r["ok"] else f" (exit {r['exit']})") for r in runs)


def same_in_short(c: dict | None) -> str:
    if not c:
        return "not compared"
    flags = sum(v.get(c["a"], 0) for v in c["per_rule"].values())
    return f"**identical** ({flags:,} flags)" if c["identical"] else f"**differ**: {c['only_a']:,} / {c['only_b']:,}"


def compare_text(c: dict | None) -> str:
    if not c:
        return "not compared"
    verdict = (
        "**identical**"
        if c["identical"]
        else f"**differ**: {c['only_a']:,} rows only in {c['a']}, {c['only_b']:,} only in {c['b']}"
    )
    per_rule = ", ".join(
        f"{rule} {v.get(c['a'], 0):,}/{v.get(c['b'], 0):,}" for rule, v in sorted(c["per_rule"].items())
    )
    total = [sum(v.get(side, 0) for v in c["per_rule"].values()) for side in (c["a"], c["b"])]
    text = (
        f"{c['a']} vs {c['b']}: {verdict}; flags {total[0]:,} vs {total[1]:,}; per rule ({c['a']}/{c['b']}): {per_rule}"
    )
    if c.get("examples"):
        text += "; e.g. " + " | ".join(f"`{e}`" for e in c["examples"][:2])
    return text


def calls_of(profile: dict | None, function: str):
    return next((calls for name, calls, _, _ in (profile or {}).get("top", []) if name.endswith(function)), None)


def gaps(state: dict, sizes: list) -> list[str]:
    """Where the engine falls short, from the measured splits (no guesses)."""
    out, startup = [], state.get("startup_s") or 0
    for size, entry in sizes:
        r = entry["runs"]
        e = [x for x in r["engine"] if x["ok"] and x.get("run_s")]
        h = [x for x in r["handwritten"] if x["ok"]]
        if e and h:
            judge, run_s, hw_c, hw_j = med(e, "judge_s"), med(e, "run_s"), med(h, "contacts_s"), med(h, "judge_s")
            out.append(
                f"- {int(size):,} records, where the engine's {f(med(e))} s go: start-up ~{f(startup)} s; "
                f"ingest + contacts {f(run_s - judge)} s (hand-written: {f(hw_c)} s, "
                f"{f((run_s - judge) / hw_c, 1, 'x')}); judge {f(judge)} s (hand-written: {f(hw_j)} s, "
                f"{f(judge / hw_j, 1, 'x')}); the rest (opening, the lock, committing, closing) "
                f"{f(med(e) - run_s - startup)} s."
            )
        if e and r.get("limit"):
            peak = max(x["rss_mb"] for x in r["engine"])
            out.append(
                f"- {int(size):,} records under a DuckDB memory limit of {r['limit']}: the engine's process "
                f"peaked at {peak:,.0f} MB of RSS (the hand-written script at "
                f"{max((x['rss_mb'] for x in h), default=0):,.0f} MB): DuckDB's limit caps its buffer manager, "
                "not the process."
            )
        inc = entry.get("increment")
        if inc and inc["runs"]:
            rs = [x for x in inc["runs"] if x["ok"]]
            if rs:
                text = (
                    f"- the increment on {int(size):,} records: {f(med(rs))} s = start-up ~{f(startup)} s + "
                    f"{f(med(rs, 'run_s'))} s in the run, of which the judge {f(med(rs, 'judge_s'))} s for "
                    f"{rs[-1].get('requesters_judged') or 0:,} requesters (what the new day can reach of their "
                    f"history: {rs[-1].get('contacts') or 0:,} contacts)"
                )
                parsed = calls_of(inc.get("profile"), "asterisk.py:read_asterisk")
                if parsed:
                    text += f"; under cProfile, `read_asterisk` ran {parsed:,} times for 1 new calls file"
                out.append(text + ".")
    if out:  # the floor is measured apart, by bench/floor_bench.py
        out.append(
            "- How low the ratio targets could go if the ingest cost no more than a bare `read_csv` of the same "
            "files (start-up + that read + the contacts build + the judge): bench/results-floor.md; what was "
            "tried on the ingest's inserts and not kept, and why: docs/scale.md."
        )
    return ["## Gaps and where they come from", ""] + out if out else []


def write_report(state: dict, out: Path) -> None:
    sizes = sorted(state["sizes"].items(), key=lambda kv: int(kv[0]))
    first = sizes[0] if sizes else None
    L = [
        "# Scale benchmark: ingest + judge at 1M and 10M records, judged in pieces, and the nightly increment",
        "",
        f"`{state['command']}` "
        f"({'finished ' + state['finished'] if state.get('finished') else 'RUNNING or interrupted'}"
        f"; started {state['started']}, {state.get('elapsed_s', 0) / 60:.0f} min in all). {state['machine']}. "
        f"Source hash (package, bench SQL and pandas script): {state['source']}.",
        "",
    ]
    L += [f"- {n}" for n in state["notes"]]
    if state.get("speed_start"):
        start, end = state["speed_start"], state.get("speed_end") or {}
        L.append(
            "- Machine speed, for comparing runs made at different hours (fixed workloads; lower is faster): "
            f"a pure-Python loop of 10^7 additions {f(start['python_s'])} s at the start, "
            f"{f(end.get('python_s'))} s at the end; DuckDB hashing 10^8 integers on 2 threads "
            f"{f(start['duckdb_s'])} s, {f(end.get('duckdb_s'))} s."
        )
    busy = [r for r in all_runs(state) if r.get("others", 0) > 0.10]
    if busy:
        L.append(
            f"- **Other processes took more than 10% of the CPUs during {len(busy)} of the "
            f'{len(all_runs(state))} measurements** (column "others\' CPU": the largest share, from /proc/stat, '
            "minus the measured command's own CPU time): those figures are slower than on a quiet machine."
        )
    L += [
        "",
        "Every figure is the wall time of a whole command in a fresh child process on a fresh database file "
        "(Python start-up and imports included), and its own peak RSS (`ru_maxrss` from `wait4`; Linux starts a "
        "child's from its parent's, so the bench's own process stays small"
        + (f": it peaked at {state['bench_rss_mb']:,.0f} MB" if "bench_rss_mb" in state else "")
        + "). At the first size "
        f"the contenders alternate (the first one rotates), {state['repeat']} runs each, and the median is "
        "reported: on a shared 2-core VM a single run can be off by 10-20%, and the median of alternating runs "
        "shrugs off one slow run and drift alike. Larger sizes run "
        f"{state['large_repeat']}x each with DuckDB capped at the memory limit shown. The input files sit in the page "
        "cache for everyone alike.",
        "",
        "- **engine**: `kasuhara --db X nightly --inbox SYNTH --settle 0 --profile thresholds/bunkyo.toml`: every file "
        "read, checked, pseudonymised, de-duplicated and stored, contacts built, the 9 Bunkyo rules judged, all in one "
        'transaction. The "split" column is the judge\'s own share, from `judge_runs`.',
        "- **engine, the README's four commands** (first size only): `ingest departments`, `ingest calls`, "
        "`ingest visits` and `judge`, each in its own process on one database, as a new user runs them. Split: "
        "the four commands' seconds.",
        "- **(a) hand-written SQL**: `bench/pipeline_handwritten.sql` (legs, visits, contacts; its header lists the "
        "simplifications) then `bench/judge_handwritten.sql` (the rules, episodes and evidence) in one DuckDB "
        "connection. Split: contacts s + judge s.",
        "- **(b) pandas**: `bench/pandas_pipeline.py`, the same simplifications and rules in plain pandas/numpy. "
        "Split: contacts s + judge s.",
        "",
    ]

    # Targets
    L += ["## Targets", "", "| target | measured | met? |", "|---|---|---|"]
    if first:
        r = first[1]["runs"]
        h = med(r["handwritten"])
        for kind, what, target in (
            ("engine", "`nightly`", NIGHTLY_RATIO),
            ("four", "the README's four commands in four processes", FOUR_RATIO),
        ):
            e = med(r.get(kind) or [])
            ratio = e / h if e and h else None
            L.append(
                f"| {int(first[0]):,} records, {what}: within {target}x of the hand-written SQL | "
                f"engine {f(e)} s / hand-written {f(h)} s = {f(ratio, 2, 'x')} | "
                f"{'yes' if ratio and ratio <= target else '**no**'} |"
            )
    for size, entry in sizes[1:]:
        e, h = entry["runs"]["engine"], med(entry["runs"]["handwritten"])
        done = bool(e) and all(x["ok"] for x in e)
        ratio = med(e) / h if done and h else None
        peak = max((x["rss_mb"] for x in e), default=0)
        L.append(
            f"| {int(size):,} records in one go, DuckDB capped at {entry['runs']['limit']}: within {LARGE_RATIO}x "
            f"of the hand-written SQL, peak RSS at most {LARGE_RSS_MB:,} MB | "
            f"{'completed' if done else 'FAILED'} in {f(med(e) if done else (e[0]['seconds'] if e else None), 0)} s "
            f"= {f(ratio, 2, 'x')}, peak RSS {peak:,.0f} MB | "
            f"{'yes' if ratio and ratio <= LARGE_RATIO and peak <= LARGE_RSS_MB else '**no**'} |"
        )
    for size, entry in sizes:
        inc = entry.get("increment")
        target = INCREMENT_S.get(int(size), 5.0)
        if inc:
            m = med(inc["runs"])
            L.append(
                f"| one new day on a year of {int(size):,} records (`nightly`, process start included) under "
                f"{target:.0f} s | median {f(m)} s | {'yes' if m is not None and m < target else '**no**'} |"
            )
    for size, entry in sizes:
        p = entry.get("pieces")
        if p:
            ok = p["compare"]["identical"] and all(x["ok"] for x in p["months"])
            L.append(
                f"| flags at {int(size):,} records identical to the same data judged month by month | "
                f"{p['compare']['only_a']:,} / {p['compare']['only_b']:,} differing flags | "
                f"{'yes' if ok else '**no**'} |"
            )
    L += [""] + gaps(state, sizes) + [""]

    # One-shot runs
    L += [
        "## Ingest + judge of a year",
        "",
        "| records | contender | median s | runs s | ratio to hand-written | peak RSS MB | split s "
        "| others' CPU | status |",
        "|---:|---|---:|---|---:|---:|---|---:|---|",
    ]
    for size, entry in sizes:
        L += contender_rows(entry["runs"], int(size))
    L += [""]
    for size, entry in sizes:
        eng = [x for x in entry["runs"]["engine"] if x["ok"]]
        if eng:
            x = eng[-1]
            L.append(
                f"- {int(size):,} records ({entry['synth_mb']:,.0f} MiB of CSV): engine database "
                f"{f(x.get('db_mb'), 0)} MiB, {x.get('contacts') or 0:,} contacts judged, "
                f"judge {f(x.get('judge_s'))} s "
                f"of a {f(x.get('run_s'))} s run (the rest: reading, checking and storing files, building contacts)."
            )
    L += [""]

    L += [
        "## Same flags?",
        "",
        "Compared: flag_id, rule, requester, group, severity, first_at, last_at, value and the evidence list (the "
        "uniqueids and visit_ids, in order). The hand-written and pandas requesters are `tel:<digits>` / "
        "`ref:<reference>`; for the comparison with the engine they are turned into the engine's keyed pseudonyms "
        "with the bench's secret (and the flag id recomputed from them), outside the timed runs.",
        "",
    ]
    for size, entry in sizes:
        L.append(f"- {int(size):,}: {compare_text(entry.get('compare_hw'))}")
        if entry.get("compare_four"):
            L.append(f"- {int(size):,}: {compare_text(entry.get('compare_four'))}")
        if entry.get("compare_pandas"):
            L.append(f"- {int(size):,}: {compare_text(entry.get('compare_pandas'))}")
    L += [
        "",
        "Where they can differ: the baselines' simplifications (header of `bench/pipeline_handwritten.sql`) "
        "matter only for data the synth folders do not contain: overlapping forked legs (talk summed, not "
        "unioned), numbers the engine finds invalid, id-less records, visits that link a phone to a reference, "
        "duplicate rows.",
        "",
    ]

    for size, entry in sizes:
        p = entry.get("pieces")
        if not p:
            continue
        months = p["months"]
        L += [
            f"## {int(size):,} records judged month by month",
            "",
            "An inbox that grows by one month's files at a time; `nightly` after each month into one database "
            "(each run ingests only the new month, rebuilds the contacts its calls can touch and judges what "
            "they can reach: the longest rule window before them, and the stored flags reaching into it).",
            "",
            "| through | s | peak RSS MB | requesters judged | others' CPU | exit |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for m in months:
            L.append(
                f"| {m['label'].split('through ')[-1]} | {m['seconds']:.1f} | {m['rss_mb']:,.0f} | "
                f"{'everyone' if m.get('requesters_judged') is None else format(m['requesters_judged'], ',')} | "
                f"{others([m])} | {m['exit']} |"
            )
        L += ["", f"Total {sum(m['seconds'] for m in months):,.0f} s. Final flags: {compare_text(p['compare'])}", ""]

    L += [
        "## Nightly increment",
        "",
        "A copy of the one-shot database (a year of history) for each run, and the one-shot run's inbox with one new "
        "day added, as a site's nightly batch finds it: the year's files are known by path, size and modification "
        "time, and the new day is the year's last day shifted by one day with new uniqueids and visit ids, so its "
        "callers are requesters with a year of history.",
        "",
        "| history | new day | median s | runs s | of which in the run s | of which judge s | peak RSS MB | "
        "requesters judged | contacts judged | others' CPU |",
        "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for size, entry in sizes:
        inc = entry.get("increment")
        if inc:
            rs = inc["runs"]
            last = rs[-1]
            L.append(
                f"| {int(size):,} | {inc['day']} | {f(med(rs))} | "
                f"{seconds_list(rs)} | {f(med(rs, 'run_s'))} | {f(med(rs, 'judge_s'))} | "
                f"{max(r['rss_mb'] for r in rs):,.0f} | "
                f"{'everyone' if last.get('requesters_judged') is None else format(last['requesters_judged'], ',')} | "
                f"{last.get('contacts') or 0:,} | {others(rs)} |"
            )
    commands = [(size, entry["increment"]) for size, entry in sizes if (entry.get("increment") or {}).get("commands")]
    if commands:
        L += [
            "",
            "The same day by the README's commands on another copy of the year, each in its own process: `ingest "
            "calls`, `ingest visits` (each brings the contacts up to its files and lists the requesters whose "
            "contacts changed), then `judge`, which judges those requesters as far back as the change reaches.",
            "",
            "| history | median s | runs s | ingest calls s | ingest visits s | judge s | peak RSS MB | flags as the "
            "nightly increment's? |",
            "|---:|---:|---|---:|---:|---:|---:|---|",
        ]
        for size, inc in commands:
            rs = inc["commands"]
            steps = [r.get("steps_s", {}) for r in rs if r["ok"]]
            same = inc.get("compare_commands")
            L.append(
                f"| {int(size):,} | {f(med(rs))} | {seconds_list(rs)} | "
                + " | ".join(
                    f(statistics.median(s[name] for s in steps) if steps else None)
                    for name in ("ingest calls", "ingest visits", "judge")
                )
                + f" | {max(r['rss_mb'] for r in rs):,.0f} | {same_in_short(same)} |"
            )
    for size, entry in sizes:
        hw = (entry.get("increment") or {}).get("handwritten_full")
        if hw:
            L.append(
                f"\nFor reference, the hand-written script, which has no incremental mode, takes {hw['seconds']:.2f} s "
                f"(peak RSS {hw['rss_mb']:,.0f} MB) to run again on the {int(size):,}-record year plus the new day."
            )
    L += [
        "",
        "Each increment time includes the command's start-up (Python and the package's imports: `kasuhara "
        f"--help` takes {f(state.get('startup_s'))} s here) and a look at every file of the inbox: the year's files "
        "are known by path, size and modification time and not read again.",
        "",
    ]

    profiles = [p for _, e in sizes for p in (e.get("profile"), (e.get("increment") or {}).get("profile")) if p]
    if profiles:
        L += ["## Where the engine's time goes", ""]
        for p in profiles:
            L += profile_table(p)
    out.write_text("\n".join(L) + "\n", encoding="utf-8")
