"""Build the tutorial notebooks from their sources and run them, storing real outputs.

    pip install -e ".[test]"                  # nbformat, nbclient and ipykernel come with the test extra
    python docs/tutorials/build.py            # every notebook
    python docs/tutorials/build.py 02         # those whose name starts with 02

Run it on a quiet machine: the notebooks keep the timings they print.

Each ``sources/NN-name.py`` is a plain Python file in the "percent" format: ``# %%``
starts a code cell, ``# %% [markdown]`` a markdown cell whose lines start with ``# ``.
The notebook ``NN-name.ipynb`` is written next to this script, executed top to bottom
with nbclient (a fresh kernel, the tutorials folder as working directory), and saved
with its outputs.
"""
from __future__ import annotations

import sys
from pathlib import Path

try:
    import nbformat
    from nbclient import NotebookClient
except ImportError as missing:  # say which extra brings them, not just the module's name
    raise SystemExit(f"docs/tutorials/build.py needs {missing.name}: pip install -e \".[test]\" "
                     f"(nbformat, nbclient and ipykernel)") from None

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
CELL_TIMEOUT_S = 600


def parse_cells(text: str) -> list:
    """The cells of a percent-format source, in order (blank lines around a cell dropped)."""
    cells, kind, lines = [], None, []

    def close():
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(body))
        elif kind == "code":
            cells.append(nbformat.v4.new_code_cell(body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            close()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    close()
    return cells


def build(source: Path) -> Path:
    notebook = nbformat.v4.new_notebook(cells=parse_cells(source.read_text(encoding="utf-8")))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(HERE)}}).execute()
    target = HERE / f"{source.stem}.ipynb"
    nbformat.write(notebook, target)
    return target


def main(prefixes: list[str]) -> None:
    for source in sorted(SOURCES.glob("*.py")):
        if not prefixes or any(source.name.startswith(p) for p in prefixes):
            print(f"built and ran {build(source).relative_to(HERE.parent.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
