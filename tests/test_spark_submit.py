"""spark-submit runs the Spark judge as a cluster would (docs/scale.md), on a local master: its own
JVM, apart from tests/test_spark.py's session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.rules import load_profile

from .conftest import SAMPLES, TEST_SECRET, fixture_secret, ingest_sample_ward
from .test_spark import assert_same_flags, judged_and_exported, needs_java


@needs_java
def test_spark_submit_runs_the_judge_with_its_own_master_and_the_site_options(tmp_path):
    """The cluster path of docs/scale.md, on a local master: spark-submit, the package's application."""
    from kasuhara_metrics.cli import spark_submit

    assert spark_submit.command_line(["--profile", "p", "--site", "s.toml", "--timezone=UTC", "--out", "o"]) == [
        "--site",
        "s.toml",
        "--timezone=UTC",
        "judge",
        "--engine",
        "spark",
        "--profile",
        "p",
        "--out",
        "o",
    ]
    with fixture_secret(), connect(str(tmp_path / "ward.duckdb")) as db:
        ingest_sample_ward(db)
        exported = judged_and_exported(db, load_profile(), tmp_path / "export")
    venv = Path(sys.executable).parent  # spark-submit finds Spark through the `python` first on PATH
    env = {**os.environ, "PATH": f"{venv}{os.pathsep}{os.environ['PATH']}", "KASUHARA_SECRET": TEST_SECRET}
    site = SAMPLES / "setagaya" / "setagaya.site.toml"  # Asia/Tokyo and 17:15, as Bunkyo's own
    done = subprocess.run(
        [
            str(venv / "spark-submit"),
            "--master",
            "local[1]",
            "--conf",
            "spark.sql.shuffle.partitions=2",
            # a JVM that lives a minute: its JIT's quick tier only (a third of the test's CPU)
            "--driver-java-options",
            "-XX:TieredStopAtLevel=1",
            spark_submit.__file__,
            "--site",
            str(site),
            "--from",
            str(exported),
            "--out",
            str(tmp_path / "judged"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "on Spark" in done.stdout and "local[1]" in done.stdout
    assert_same_flags(exported, tmp_path / "judged")
