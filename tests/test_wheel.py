"""The package as a nightly server installs it: a built wheel, not the checkout (issue 13).

The wheel is built from a copy of the checkout and installed into a fresh venv; the demo's commands
then run through the venv's `kasuhara`, far from the checkout, on the bundled samples: the default
profile and the report's templates must come with the package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from .conftest import SAMPLES, TEST_SECRET

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], cwd: Path, env: dict) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 3), done.stdout + done.stderr
    return done.stdout


def test_a_built_wheel_installs_and_runs_the_demo_without_the_checkout(tmp_path):
    dist, work = tmp_path / "dist", tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASUHARA_")} | {"KASUHARA_SECRET": TEST_SECRET}
    # Built from a copy of what the package is made of: a build writes build/ beside its sources.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "kasuhara_metrics", "thresholds"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(source),
        ],
        work,
        env,
    )
    wheel = next(dist.glob("kasuhara_metrics-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "kasuhara_metrics/thresholds/bunkyo.toml" in names
    assert "kasuhara_metrics/thresholds/setagaya.toml" in names  # `--profile setagaya` from a wheel
    assert "kasuhara_metrics/report/templates/weekly.html.j2" in names
    # A fresh venv, as a server gets one. Its dependencies are this interpreter's (the suite runs
    # offline): a .pth adds their folder, whose own .pth files (the checkout's editable install) a
    # plain path entry does not run.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], work, env)
    python = venv / "bin" / "python"
    venv_site = Path(
        run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work, env).strip()
    )
    (venv_site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], work, env)
    # Only the installed copy is importable: the checkout is neither the working folder nor on the path.
    where = run(
        [str(python), "-c", "import kasuhara_metrics.rules as r; print(r.__file__); print(r.default_profile_path())"],
        work,
        env,
    ).split()
    assert all(line.startswith(str(venv_site)) for line in where)
    k = [str(venv / "bin" / "kasuhara"), "--db", str(work / "k.duckdb")]  # the wheel's console script
    run(k + ["ingest", "departments", str(SAMPLES / "departments.csv")], work, env)
    run(k + ["ingest", "calls", *map(str, sorted((SAMPLES / "asterisk").glob("*.csv")))], work, env)
    run(k + ["ingest", "visits", *map(str, sorted((SAMPLES / "visits").glob("*.csv")))], work, env)
    assert "flags are current" in run(k + ["judge"], work, env)
    assert "2026-W38:" in run(k + ["report", "--week", "2026-W38", "--out", str(work / "reports")], work, env)
    assert "bunkyo" in run(k + ["thresholds", "check"], work, env)
