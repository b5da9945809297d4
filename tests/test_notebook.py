"""The analyst notebook runs, top to bottom, against the bundled synthetic ward: it cannot rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.judge import judge
from kasuhara_metrics.rules import load_profile

from .conftest import ingest_sample_ward

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "analyst.ipynb"


def test_the_analyst_notebook_runs_on_the_samples_from_its_own_folder(tmp_path, monkeypatch):
    # As Jupyter starts in notebooks/ of a checkout where `make demo` wrote kasuhara.duckdb.
    db_path = str(tmp_path / "kasuhara.duckdb")
    with connect(db_path) as db:
        ingest_sample_ward(db)
        judge(db, load_profile())
    (tmp_path / "notebooks").mkdir()
    monkeypatch.delenv("KASUHARA_DB", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path / "notebooks")}}
    ).execute()
    outputs = [
        "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", []))
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    text = "\n".join(outputs)
    assert "immediate_redial" in text and "department" in text
    assert "near misses:" in text and f"database: {db_path}" in text
    what_if = notebook.cells[-2].outputs[0]["data"]["text/plain"]
    counts = [int(line.split()[3]) for line in what_if.splitlines()[1:]]
    assert counts[0] >= counts[1] >= counts[2] and counts[0] > counts[2]  # fewer long-call flags at higher thresholds
    assert any(
        o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
    )
