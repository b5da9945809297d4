"""Write notebooks/analyst.ipynb (kept as code here so that its cells stay reviewable as Python).

Run: python scripts/make_notebook.py   (tests/test_notebook.py executes the notebook on the samples)
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parent.parent / "notebooks" / "analyst.ipynb"

CELLS = [
    new_markdown_cell(
        "# The analysts' desk\n\n"
        "Flags are leads for a person to review, never verdicts. This notebook reads the database read-only "
        "(`KASUHARA_DB`, else the nearest `kasuhara.duckdb` at or above the working directory, else the "
        "repository's; run `make demo` first for the bundled synthetic ward, and `make notebook` to open this) "
        "and looks at the flags three ways: how they spread over rules and departments, one requester's timeline, "
        "and what a different threshold would change. Requesters appear as pseudonyms only."
    ),
    new_code_cell(
        "import os\n\n"
        "import matplotlib.pyplot as plt\n"
        "import pandas as pd\n\n"
        "from kasuhara_metrics.common.db import connect, find_database\n"
        "from kasuhara_metrics.judge import judge\n"
        "from kasuhara_metrics.judge.explain import explain\n"
        "from kasuhara_metrics.rules import load_profile\n\n"
        "db = connect(find_database(), read_only=True)\n"
        "print('database:', db.path)\n"
        "profile = load_profile(os.environ.get('KASUHARA_PROFILE'))\n"
        "con = db.con"
    ),
    new_markdown_cell("## How flags spread over rules and departments"),
    new_code_cell(
        "by_rule = con.sql('''\n"
        "    SELECT category, behaviour, rule_id, severity, count(*) AS flags, "
        "count(DISTINCT requester_key) AS requesters\n"
        "    FROM flags GROUP BY ALL ORDER BY category, behaviour, severity''').df()\n"
        "by_rule"
    ),
    new_code_cell(
        "by_department = con.sql('''\n"
        "    SELECT f.rule_id, coalesce(e.department, '(unknown)') AS department, "
        "count(DISTINCT f.flag_id) AS flags\n"
        "    FROM flags f JOIN flag_evidence e USING (flag_id) GROUP BY ALL''').df()\n"
        "table = by_department.pivot_table(index='department', columns='rule_id', values='flags', fill_value=0)\n"
        "table"
    ),
    new_code_cell(
        "ax = by_rule.groupby('rule_id')['flags'].sum().sort_values().plot.barh(figsize=(7, 3.5), color='#4c72b0')\n"
        "ax.set_xlabel('flags')\n"
        "ax.set_ylabel('')\n"
        "plt.tight_layout()"
    ),
    new_markdown_cell(
        "## One requester's timeline\n\n"
        "The requester with the most flags: what they did, what fired, and what nearly did."
    ),
    new_code_cell(
        "top = con.sql(\n"
        "    'SELECT requester_key FROM flags GROUP BY ALL ORDER BY count(*) DESC, requester_key LIMIT 1'\n"
        ").fetchall()[0][0]\n"
        "story = explain(db, top, profile)\n"
        "columns = ['started_at', 'channel', 'department', 'kind', 'topic', 'talk_s', 'outcome']\n"
        "timeline = pd.DataFrame(story.contacts)[columns]\n"
        "print(top, len(story.contacts), 'contacts;', len(story.flags), 'flags:', "
        "[f['rule_id'] for f in story.flags])\n"
        "print('near misses:', [m.text for m in story.near_misses])\n"
        "timeline"
    ),
    new_markdown_cell(
        "## What if: long-call levels moved together\n\n"
        "注意 (watch) at 30, 45 and 60 minutes, 警告 (alert) at twice that. `with_thresholds` changes the levels "
        "it names and keeps the others, checked as a profile file is. A dry run judges and writes nothing "
        "(it works on this read-only connection)."
    ),
    new_code_cell(
        "rows = []\n"
        "for watch in (30, 45, 60):\n"
        "    variant = profile.with_thresholds('long_call', watch=watch, alert=2 * watch)\n"
        "    report = judge(db, variant, dry_run=True)\n"
        "    outcome = next(o for o in report.rules if o.rule_id == 'long_call')\n"
        "    rows.append({'watch at minutes': watch, 'alert at minutes': 2 * watch, 'long_call flags': outcome.flags,\n"
        "                 'added': outcome.added, 'removed': outcome.removed})\n"
        "what_if = pd.DataFrame(rows)\n"
        "what_if"
    ),
    new_code_cell("db.close()"),
]


def main() -> None:
    notebook = new_notebook(
        cells=CELLS,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    OUT.parent.mkdir(exist_ok=True)
    nbformat.write(notebook, OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
