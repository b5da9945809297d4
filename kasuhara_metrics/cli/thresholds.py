"""`kasuhara thresholds check`: every problem of a profile with file:line, then its examples."""

from __future__ import annotations

import sys

import click

from ..judge.examples import run_examples
from ..rules import check_profile, default_profile_path
from .app import EXIT_FAILURE, handle_errors


@click.group()
def thresholds() -> None:
    """Threshold profiles: check them before a judge run uses them."""


@thresholds.command()
@click.argument("path", required=False, metavar="[PROFILE]")
@handle_errors
def check(path: str | None) -> None:
    """Report every error in a profile (file:line and the fix), then run each rule's examples.

    \b
    Example:
        kasuhara thresholds check thresholds/bunkyo.toml
        kasuhara thresholds check setagaya
    """
    path = path or str(default_profile_path())
    profile, issues = check_profile(path)
    for issue in issues:
        click.echo(str(issue), err=True)
    if profile is None:
        click.echo(
            f"{path}: {len(issues)} problem{'s' if len(issues) != 1 else ''}; judge refuses this profile", err=True
        )
        sys.exit(EXIT_FAILURE)
    results = run_examples(profile)
    for result in results:
        click.echo(str(result))
    failed = [r for r in results if not r.passed]
    switched_off = [rule.id for rule in profile.rules if not rule.enabled]
    click.echo(
        f"{path}: {len(profile.rules)} rules valid"
        + (f" ({len(switched_off)} switched off: {', '.join(switched_off)})" if switched_off else "")
        + f"; {len(results) - len(failed)} of {len(results)} examples pass"
    )
    if len(profile.lineage) > 1:
        click.echo(f"{profile.name} {profile.version} extends " + " <- ".join(profile.lineage[1:]))
    if failed:
        sys.exit(EXIT_FAILURE)
