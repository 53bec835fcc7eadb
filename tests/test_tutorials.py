"""The tutorial notebooks run top to bottom, and the committed ones are real runs of
their current sources (docs/tutorials/sources/*.py, built by docs/tutorials/build.py)."""
import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

TUTORIALS = Path(__file__).resolve().parent.parent / "docs" / "tutorials"
SOURCES = sorted((TUTORIALS / "sources").glob("*.py"))


def load_build():
    spec = importlib.util.spec_from_file_location("tutorials_build", TUTORIALS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def output_kinds(cell) -> list:
    """What a code cell printed or showed: "stdout" and display MIME types, in order. Standard
    error is left out: it carries the environment's notices (a font cache being built). Output
    printed in a row counts once: the kernel sends it in as many messages as its flush timer
    fires while the cell runs, more of them on a busy machine."""
    kinds = []
    for output in cell.outputs:
        if output.output_type == "stream":
            if output.name == "stdout" and kinds[-1:] != ["stdout"]:
                kinds.append("stdout")
        else:
            kinds.append(sorted(output.get("data", {})))
    return kinds


def test_there_are_six_tutorials():
    assert [source.stem[:2] for source in SOURCES] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_notebook_runs_and_matches_its_committed_outputs(source):
    build = load_build()
    committed = nbformat.read(TUTORIALS / f"{source.stem}.ipynb", as_version=4)
    fresh = nbformat.v4.new_notebook(cells=build.parse_cells(source.read_text(encoding="utf-8")))
    assert [c.source for c in committed.cells] == [c.source for c in fresh.cells], \
        f"{source.stem}.ipynb is stale: run python docs/tutorials/build.py {source.stem[:2]}"
    nbclient.NotebookClient(fresh, timeout=build.CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(TUTORIALS)}}).execute()
    committed_code = [c for c in committed.cells if c.cell_type == "code"]
    fresh_code = [c for c in fresh.cells if c.cell_type == "code"]
    assert [c.execution_count for c in committed_code] == list(range(1, len(committed_code) + 1))
    assert [output_kinds(c) for c in committed_code] == [output_kinds(c) for c in fresh_code]
    assert not any(o.output_type == "error" for c in committed_code for o in c.outputs)
