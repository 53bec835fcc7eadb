"""Write a computation graph as Graphviz DOT, and as SVG or PNG when ``dot`` is installed.

Graphviz is not a Python dependency: ``draw_graph`` always writes the ``.dot`` text and
calls the ``dot`` program (Debian/Ubuntu: ``apt-get install graphviz``; macOS:
``brew install graphviz``) only to turn it into a picture.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path

from ..tensor import Tensor
from .graph import ComputationGraph, build_graph

_STYLES = {
    "op": 'shape=box, style="rounded,filled", fillcolor="#dbe8f5"',
    "repeat": 'shape=box3d, style=filled, fillcolor="#c6dcef"',
    "parameter": 'shape=ellipse, style=filled, fillcolor="#fde9c8"',
    "input": 'shape=ellipse, style="dashed", color="#777777"',
    "output": 'shape=doubleoctagon, style=filled, fillcolor="#e3f1dc"',
}
PICTURE_FORMATS = (".svg", ".png", ".pdf")


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(graph: ComputationGraph) -> str:
    """The graph in the DOT language: one statement per node, then one per edge."""
    lines = [
        "digraph chainrule {",
        '  rankdir=TB; node [fontname="Helvetica", fontsize=10]; edge [fontname="Helvetica", fontsize=9];',
    ]
    lines += [f"  {node.id} [{_STYLES[node.kind]}, label={_quote(node.label)}];" for node in graph.nodes]
    for edge in graph.edges:
        label = f" [label={_quote(edge.label)}]" if edge.label else ""
        lines.append(f"  {edge.source} -> {edge.target}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(tensor: Tensor, path: str | os.PathLike, model=None, collapse: bool | None = None) -> list[Path]:
    """Draw the graph that computed ``tensor`` into ``path``; return the files written.

    A ``.dot``/``.gv`` path gets the DOT text only. A ``.svg``, ``.png`` or ``.pdf`` path
    gets the DOT text beside it (same name, ``.dot``) and the picture, drawn by Graphviz's
    ``dot`` — or a warning when ``dot`` is not installed. ``model`` (anything with
    ``named_parameters()``) names the parameters; ``collapse`` folds repeated layers
    (by default only in graphs of more than 10 ops). Call it before ``backward()``, or
    after ``backward(retain_graph=True)`` to show the gradients' norms.
    """
    path = Path(path)
    names = {id(p): name for name, p in model.named_parameters()} if model is not None else None
    text = to_dot(build_graph(tensor, names, collapse))
    suffix = path.suffix.lower()
    dot_path = path if suffix not in PICTURE_FORMATS else path.with_suffix(".dot")
    dot_path.write_text(text, encoding="utf-8")
    written = [dot_path]
    if suffix in PICTURE_FORMATS:
        program = shutil.which("dot")
        if program is None:
            warnings.warn(
                f"Graphviz's `dot` program was not found, so only {dot_path} was written: install "
                f"Graphviz (Debian/Ubuntu: apt-get install graphviz) to get {path.name}",
                RuntimeWarning, stacklevel=2,
            )
        else:
            subprocess.run([program, f"-T{suffix[1:]}", str(dot_path), "-o", str(path)],
                           check=True, capture_output=True)
            written.append(path)
    return written
