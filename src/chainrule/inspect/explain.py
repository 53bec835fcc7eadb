"""The backward pass as the chain of hand-written formulas it applies, in order, with shapes.

    loss = loss_fn(model(x), y)
    cr.explain(loss)        # before loss.backward(), which frees the graph
    loss.backward()

prints one line per gradient each op computes, e.g.
``2  Linear#2  dW = dyᵀ·x  (10×128)·(128×512)  → (10×512)``: the ops in the order
``backward()`` visits them, each numbered by its place among ops of its kind in the
forward pass, with its formula (the op's ``formula``) and the shapes of this run.
"""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from typing import TextIO

from ..tensor import Tensor
from .formula import Clause, applied_clauses
from .text import format_shape, render_table
from .walk import backward_order


@dataclass(frozen=True)
class ExplainStep:
    """One node's backward. order: 1 for the first to run. number: the node's place
    among the ops of its kind in forward order (``Linear#2`` is the second Linear).
    clauses: the formula's clauses it applies, or None when its op has no formula;
    then ``gradient_shapes`` still says what it returns to each input needing a gradient."""

    order: int
    op: str
    number: int
    output_shape: tuple
    clauses: list[Clause] | None
    gradient_shapes: list[tuple]

    @property
    def label(self) -> str:
        return f"{self.op}#{self.number}"


def explain_steps(tensor: Tensor) -> list[ExplainStep]:
    """The backward pass from ``tensor`` as :class:`ExplainStep` s, in the order
    ``tensor.backward()`` runs them. Needs the graph: call it before ``backward()``
    (or after ``backward(retain_graph=True)``). An empty list for a leaf."""
    order, output_shapes = backward_order(tensor, "explain")
    seen = Counter()
    numbers = {}
    for node in reversed(order):
        seen[node.name] += 1
        numbers[node] = seen[node.name]
    return [
        ExplainStep(
            order=i, op=node.name, number=numbers[node], output_shape=output_shapes[node],
            clauses=applied_clauses(node, output_shapes[node]),
            gradient_shapes=[tuple(t.shape) for t, wants in zip(node.inputs, node.needs_input_grad) if wants],
        )
        for i, node in enumerate(order, start=1)
    ]


def format_explanation(steps: list[ExplainStep]) -> str:
    """The steps as an aligned table, a row per gradient."""
    if not steps:
        return "nothing to explain: the tensor was not computed from inputs that require a gradient"
    rows = []
    for step in steps:
        lead = [str(step.order), step.label]
        if step.clauses is None:
            gradients = ", ".join(format_shape(s) for s in step.gradient_shapes)
            rows.append(lead + ["(no formula: this op's class has no `formula` attribute)", "", f"→ {gradients}"])
            continue
        for k, clause in enumerate(step.clauses):
            rows.append((lead if k == 0 else ["", ""]) + [clause.text, clause.shapes, f"→ {format_shape(clause.result)}"])
    intro = (
        f"backward from a tensor of shape {format_shape(steps[0].output_shape)} through {len(steps)} ops, "
        f"in the order backward() applies them\n"
        f"(dy: the gradient arriving at the op's output; a gradient of a broadcast input is summed to its shape)\n"
    )
    return intro + render_table(["", "op", "gradient", "shapes", ""], rows, right_aligned={0})


def explain(tensor: Tensor, file: TextIO | None = None) -> None:
    """Print the backward pass from ``tensor`` formula by formula (see :func:`explain_steps`)."""
    print(format_explanation(explain_steps(tensor)), file=file or sys.stdout)
