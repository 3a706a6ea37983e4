"""Every notebook in notebooks/ executes top to bottom in SMOKE mode (its first cell sets SMOKE = True)."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_in_smoke_mode(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    first = "".join(nb.cells[0].source) if nb.cells else ""
    assert "SMOKE = True" in first, f"{path.name}: the first cell must set SMOKE = True"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        f"{path.name}: outputs must be stripped in git"
    )
    monkeypatch.chdir(tmp_path)  # notebooks write their outputs to the working folder
    monkeypatch.setenv("TEXTXFER_NOTEBOOK_DIR", str(path.parent))
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
