"""Every notebook in notebooks/ executes top to bottom in SMOKE mode.

The notebooks are committed with the outputs of a real run (``SMOKE = False``, see
``notebooks/execute.py``); here a copy runs with its first cell forced to ``SMOKE = True`` (seconds,
tiny models). A notebook that needs datasets beyond the built-in ones names them in its metadata
(``"textxfer": {"datasets": [...]}``) and is skipped where they are not available.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def smoke_copy(nb):
    """The notebook with ``SMOKE = True`` in its first cell and no stored outputs."""
    first = "".join(nb.cells[0].source)
    assert re.match(r"SMOKE = (True|False)\b", first), "the first cell must set SMOKE"
    nb.cells[0].source = re.sub(r"^SMOKE = (True|False)", "SMOKE = True", first)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def missing_datasets(nb) -> list[str]:
    from textxfer.data.builtin import builtin_folder
    from textxfer.data.load import datasets_root

    root = datasets_root()
    needed = nb.metadata.get("textxfer", {}).get("datasets", [])
    return [n for n in needed if not builtin_folder(n) and not (root and (root / n).is_dir())]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_in_smoke_mode(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = smoke_copy(nbformat.read(path, as_version=4))
    if missing := missing_datasets(nb):
        pytest.skip(f"{path.name} needs datasets {missing} (set TEXTXFER_DATASETS)")
    monkeypatch.chdir(tmp_path)  # notebooks write their outputs to the working folder
    monkeypatch.setenv("TEXTXFER_NOTEBOOK_DIR", str(path.parent))
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, f"{path.name}: a notebook teaches with at least one plot"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_teaches_between_cells_and_holds_a_real_run(path):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    kinds = [c.cell_type for c in nb.cells]
    code = [i for i, k in enumerate(kinds) if k == "code"]
    assert all("markdown" in kinds[a + 1 : b] for a, b in zip(code[1:], code[2:])), (
        f"{path.name}: prose between the code cells"
    )
    if nb.metadata.get("textxfer", {}).get("real_run", True):
        assert "".join(nb.cells[0].source).startswith("SMOKE = False")
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert code and nb.cells[code[-1]].get("outputs"), (
            f"{path.name}: committed with the outputs of a real run (python notebooks/execute.py)"
        )
        assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name}: its plot"
