"""Write docs/cli.md from the commands' own --help, so the reference cannot drift.

Run: python scripts/cli_reference.py   (tests/test_docs.py fails when docs/cli.md is out of date)
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

from kasuhara_metrics.cli import main

OUT = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    yield prefix
    for name in sorted(group.commands):
        command = group.commands[name]
        if isinstance(command, click.Group):
            yield from commands(command, prefix + (name,))
        else:
            yield prefix + (name,)


def render() -> str:
    parts = ["# Command reference\n", "Generated from `--help` by `scripts/cli_reference.py`; do not edit by hand.\n"]
    runner = CliRunner()
    for path in commands(main):
        result = runner.invoke(main, [*path, "--help"], terminal_width=100, prog_name="kasuhara")
        title = " ".join(("kasuhara",) + path)
        parts.append(f"## `{title}`\n\n```\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")
