"""`kasuhara judge`, `flags` and `explain`: apply a profile, list its flags, explain a requester."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from .. import contacts
from ..common.errors import KasuharaError
from ..desk.flags import list_flags
from ..desk.weeks import Week
from ..judge import JudgeReport, last_run
from ..judge import judge as run_judge
from ..judge.explain import Explanation
from ..judge.explain import explain as explain_requester
from ..rules import CATEGORIES, SEVERITIES, SEVERITY_LABELS
from .app import AppContext, counted, date_type, emit_rows, format_option, handle_errors, pass_app, profile_option
from .progress import terminal_progress


@click.command()
@profile_option
@click.option(
    "--as-of",
    type=date_type,
    help="Judge only contacts that started up to the end of this day (site time). Stored, such flags "
    "make the next nightly run judge everyone again.",
)
@click.option(
    "--dry-run", is_flag=True, help="Show what would change (flags added and removed per rule); write nothing."
)
@click.option(
    "--everyone",
    is_flag=True,
    help="Judge every requester's whole history. Without it, after `ingest` commands only the requesters "
    "whose contacts they changed are judged, as far back as the change reaches (the same flags, sooner); "
    "with nothing changed since the last run, everyone.",
)
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    default="duckdb",
    show_default=True,
    help="duckdb: the database's contacts, flags stored in it. spark: Parquet contacts (--from), flags to --out.",
)
@click.option(
    "--from",
    "sources",
    multiple=True,
    help="spark: a `kasuhara export` folder or contacts Parquet (a file or folder, or a URI such as "
    "hdfs://.../contacts); repeat for several shards.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="spark: folder for flags.parquet, flag_evidence/ and judge_run.json (an earlier run's are replaced).",
)
@click.option(
    "--spark-master",
    help="spark: a cluster's master URL; default local[*] (all cores here), or spark-submit's --master under it.",
)
@click.option("--spark-conf", multiple=True, metavar="KEY=VALUE", help="spark: a Spark setting; repeat for more.")
@pass_app
@handle_errors
def judge(
    app: AppContext,
    profile_path: str | None,
    as_of,
    dry_run: bool,
    everyone: bool,
    engine: str,
    sources: tuple[str, ...],
    out: Path | None,
    spark_master: str | None,
    spark_conf: tuple[str, ...],
) -> None:
    """Apply a threshold profile to every requester's contacts and store the flags.

    A flag is a lead for a person to review, never a verdict. With --engine spark the same profile
    runs on Apache Spark over Parquet contacts (docs/scale.md) and writes flags.parquet,
    flag_evidence/ and judge_run.json to --out instead of the database.

    \b
    Example:
        kasuhara judge
        kasuhara judge --everyone
        kasuhara judge --profile thresholds/bunkyo.toml --as-of 2026-09-30 --dry-run
        kasuhara judge --engine spark --from exports/ --out judged/
    """
    app.use_profile(profile_path)
    profile = app.profile()
    day = as_of.date() if as_of else None
    if engine == "spark":
        _judge_on_spark(profile, day, dry_run, sources, out, spark_master, spark_conf)
        return
    if sources or out:
        raise KasuharaError("--from and --out are for --engine spark; the DuckDB judge reads and writes the database")
    with app.open(read_only=dry_run, writer="judge") as db, terminal_progress("judge") as step:
        # What `ingest` commands changed since the last run; a dry run and a day's run take everyone.
        changes = None if everyone or dry_run or day is not None else contacts.unjudged(db)
        report = run_judge(db, profile, as_of=day, dry_run=dry_run, changed_from=changes or None, progress=step)
    rows = [(o.rule_id, o.contacts_evaluated, o.hits, o.flags, o.added, o.removed) for o in report.rules]
    emit_rows(
        ["rule", "contacts evaluated", "hits", "flags", "added", "removed"],
        rows,
        "table",
        title=f"{profile.name} {profile.version} ({profile.content_hash})"
        + (" - dry run, nothing written" if dry_run else "")
        # the rows count what this run measured: the changed requesters' contacts, hits and flags
        + ("" if report.requesters is None else f" - the {counted(len(report.requesters), 'requester')} judged"),
    )
    warn_of_unknown_departments(report)
    if report.requesters is not None:
        click.echo(
            f"judged the {counted(len(report.requesters), 'requester')} whose contacts changed since the last "
            "run, as far back as the change reaches (--everyone: every requester's whole history)"
        )
    shown = report.flags if dry_run else report.total_flags
    verb = "would be" if dry_run else ("is" if shown == 1 else "are")
    click.echo(
        f"{counted(report.contacts_judged, 'contact')} judged; {counted(shown, 'flag')} {verb} current "
        f"({report.new} new, {report.updated} updated, {report.gone} gone)"
    )


def _judge_on_spark(
    profile,
    as_of,
    dry_run: bool,
    sources: tuple[str, ...],
    out: Path | None,
    master: str | None,
    conf: tuple[str, ...],
) -> None:
    from ..judge.spark import judge_parquet, spark_session
    from ..judge.spark.session import parse_conf

    if dry_run:
        raise KasuharaError("--dry-run is for the database; a Spark run writes only to --out, which you can discard")
    if not sources or out is None:
        raise KasuharaError("--engine spark needs --from (a `kasuhara export` folder or contacts Parquet) and --out")
    settings = parse_conf(conf)
    with terminal_progress("judge") as step:
        step("starting Spark", 0, None)
        spark = spark_session(master, settings)
        report, written = judge_parquet(spark, profile, list(sources), out, as_of=as_of, progress=step)
    emit_rows(
        ["rule", "contacts evaluated", "hits", "flags"],
        [(o.rule_id, o.contacts_evaluated, o.hits, o.flags) for o in report.rules],
        "table",
        title=f"{profile.name} {profile.version} ({profile.content_hash}) on Spark {spark.version}, "
        f"{spark.sparkContext.master}",
    )
    click.echo(f"{counted(report.contacts_judged, 'contact')} judged; {counted(report.flags, 'flag')}")
    for path in (written.flags, written.evidence, written.run):
        click.echo(f"wrote {path}")


def warn_of_unknown_departments(report: JudgeReport) -> None:
    """On stderr (cron mails it): override departments no contact has, where the rule's own tiers apply."""
    for rule_id, departments in report.unknown_departments.items():
        click.echo(
            f"warning: {rule_id}'s overrides name {', '.join(departments)}, which no contact has - check the "
            'spelling against `kasuhara query "SELECT DISTINCT department FROM contacts"`; until then the '
            "rule's own tiers apply there",
            err=True,
        )


@click.command()
@format_option
@click.option("--since", type=date_type, help="Only flags whose episode lasts until this day or later.")
@click.option("--category", type=click.Choice(CATEGORIES), help="拘束 or 繰り返し.")
@click.option("--severity", type=click.Choice(SEVERITIES), help="watch (注意) or alert (警告).")
@click.option("--rule", "rule_id", help="Only this rule id.")
@click.option("--needs-review", is_flag=True, help="Only flags never reviewed, or grown since their review.")
@click.option("--week", help="Only flags active in this ISO week (e.g. 2026-W47), as in the weekly report.")
@click.option(
    "--wide",
    is_flag=True,
    help="Every column in the table, lists cut to their first 10 items (CSV and JSON carry every column whole).",
)
@pass_app
@handle_errors
def flags(
    app: AppContext,
    output_format: str,
    since,
    category: str | None,
    severity: str | None,
    rule_id: str | None,
    needs_review: bool,
    week: str | None,
    wide: bool,
) -> None:
    """List the flags of the latest judge run.

    The table shows what a reviewer reads first (flag, requester, behaviour, level, period, value /
    threshold, review); --wide, CSV and JSON add the rule, the detail and the evidence (source ids,
    ';'-joined in CSV).

    \b
    Example:
        kasuhara flags --needs-review
        kasuhara flags --since 2026-09-01 --severity alert --format csv
    """
    with app.open(read_only=True) as db:
        chosen = Week.parse(week, app.site().timezone) if week else None
        run = last_run(db)
        columns, rows = list_flags(
            db,
            since=since.date() if since else None,
            category=category,
            severity=severity,
            rule_id=rule_id,
            needs_review=needs_review,
            week=chosen,
            wide=wide or output_format != "table",
        )
    filtered = any((since, category, severity, rule_id, needs_review, week))
    none = "No flags: the latest judge run found none, or none has run yet (`kasuhara judge`)."
    emit_rows(
        columns,
        rows,
        output_format,
        empty="No flags match these filters." if filtered else none,
        wrap=() if wide else ("behaviour",),
        narrow=None if wide else _flag_in_two_lines,
        title=f"Judged by profile {run.profile_name} {run.profile_version} on {run.finished_at:%Y-%m-%d %H:%M}"
        if run and rows
        else None,
    )


def _flag_in_two_lines(cells) -> str:
    """A compact flag row for a terminal narrower than the table: ids and period, then what and how far."""
    flag, requester, behaviour, level, period, measured, review = cells
    return f"{flag:<17}  {requester:<17}  {level:<5}  {period}\n    {behaviour}  {measured}  ({review})"


@click.command()
@click.argument("requester")
@profile_option
@format_option
@click.option(
    "--lang",
    type=click.Choice(["en", "ja"]),
    default="en",
    show_default=True,
    help="Language of the near misses: en, or ja for 日本語.",
)
@click.option("--since", type=date_type, help="Only contacts and flags that last until this day or later.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the latest N contacts of the timeline.")
@pass_app
@handle_errors
def explain(
    app: AppContext,
    requester: str,
    profile_path: str | None,
    output_format: str,
    lang: str,
    since,
    limit: int | None,
) -> None:
    """Show a requester's timeline, the flags that fired, and the near misses.

    REQUESTER is a pseudonym (R + 16 hex digits) or, for users holding the site secret, a phone number.

    \b
    Example:
        kasuhara explain Rbc83e7bbc0270fe0
        kasuhara explain Rbc83e7bbc0270fe0 --lang ja --since 2026-09-01 --limit 20
    """
    app.use_profile(profile_path)
    with app.open(read_only=True) as db:
        profile = app.profile_that_judged(db)
        result = explain_requester(db, requester, profile, since=since.date() if since else None, limit=limit)
    if output_format != "table":
        emit_rows(["section", "when", "what", "detail"], list(_explanation_rows(result, lang)), output_format)
        return
    shown = len(result.contacts)
    scope = "" if shown == result.contacts_total else f" (showing {shown} of {result.contacts_total})"
    click.echo(
        f"Requester {result.requester_key}: {counted(result.contacts_total, 'contact')}{scope}, "
        f"{counted(len(result.flags), 'flag')}{' since ' + since.date().isoformat() if since else ''}. "
        "A flag is a lead for review, never a verdict."
    )
    if result.judged_by:
        click.echo(
            f"Flags judged by profile {result.judged_by}; near misses measured by {profile.name} {profile.version}."
        )
    for line in result.override_notes:
        click.echo(line)
    emit_rows(
        ["flag", "rule", "behaviour", "severity", "from", "to", "detail"],
        [
            (
                f["flag_id"],
                f["rule_id"],
                f["behaviour"],
                f"{f['severity']} ({SEVERITY_LABELS[f['severity']]})",
                f["first_at"],
                f["last_at"],
                f["detail"],
            )
            for f in result.flags
        ],
        "table",
        title="Flags",
        empty="No flags" + (" in this period." if since else "."),
    )
    emit_rows(
        ["rule", "behaviour", "closest it came"],
        [(m.rule_id, m.behaviour, m.text_ja if lang == "ja" else m.text) for m in result.near_misses],
        "table",
        title="Near misses",
        empty="No near misses: the other rules measured nothing for this requester.",
    )
    flagged = {source for f in result.flags for source in f["evidence"]}
    emit_rows(
        ["start", "channel", "department", "kind", "topic", "talk min", "outcome", "source", "in a flag"],
        [
            (
                c["started_at"],
                c["channel"],
                c["department"],
                c["kind"],
                c["topic"],
                round(c["talk_s"] / 60, 1),
                c["outcome"],
                ", ".join(c["source_ids"]),
                "yes" if flagged & set(c["source_ids"]) else "",
            )
            for c in result.contacts
        ],
        "table",
        title="Timeline",
        empty="No contacts in this period.",
    )


def _explanation_rows(result: Explanation, lang: str) -> Iterator[tuple[Any, ...]]:
    for f in result.flags:
        yield ("flag", f["first_at"], f"{f['rule_id']} {f['severity']}", f["detail"])
    for m in result.near_misses:
        yield ("near miss", None, m.rule_id, m.text_ja if lang == "ja" else m.text)
    for c in result.contacts:
        yield (
            "contact",
            c["started_at"],
            f"{c['channel']} {c['department'] or ''}".strip(),
            f"{c['outcome']} {round(c['talk_s'] / 60, 1)} min; {', '.join(c['source_ids'])}",
        )
