"""The example notebook runs top to bottom (nbclient, a real IPython kernel, the local endpoint)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebooks" / "replay_movielens.ipynb"


def outputs_of(cell: Any) -> dict[str, list[Any]]:
    """MIME type -> the values a cell displayed (streams as 'stream:<name>')."""
    found: dict[str, list[Any]] = {}
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            found.setdefault(f"stream:{output['name']}", []).append(output["text"])
        for mime, value in output.get("data", {}).items():
            found.setdefault(mime, []).append(value)
    return found


@pytest.mark.slow
def test_the_example_notebook_runs_top_to_bottom() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        # The kernel runs in the notebook's folder, as in Jupyter. jupyter_client starts the
        # "python3" kernel with this interpreter (sys.executable), so it sees this venv.
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )

    client.execute()  # raises CellExecutionError, with the cell's traceback, if a cell fails

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    by_source = {cell.source.split("\n")[-1]: outputs_of(cell) for cell in code}
    summary = by_source["summary"]
    assert any("<table" in html and "every row delivered" in html for html in summary["text/html"])
    assert "image/png" in by_source["summary.plot();"]
    stats = by_source["tracker.stats()"]
    assert any("TrackerStats" in html for html in stats["text/html"])
    bad_rows = "".join(
        by_source["assert [bad.row for bad in messy_summary.bad_rows] == [1, 2]"]["stream:stdout"]
    )
    assert "row 1: no user id" in bad_rows
    assert "row 2: sent_at" in bad_rows
    assert "milliseconds" in bad_rows
    assert all(
        output["output_type"] != "error" for cell in code for output in cell.get("outputs", [])
    )
