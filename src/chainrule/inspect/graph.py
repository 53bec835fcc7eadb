"""The computation graph behind a tensor as plain nodes and edges, ready to draw.

Ops become op nodes, leaf tensors (parameters, data, constants) become tensor nodes,
and the tensor itself an output node; an edge runs from each input to the op that
used it. Gradient norms appear wherever a tensor has ``.grad``, when the latest backward()
ran through this very graph (with ``retain_graph=True``, which keeps it to draw): drawn
before that backward, the leaves' gradients are an earlier step's, and none is shown.
Leaves that take no gradient are "input" nodes, named "labels" when they hold integers.

A chain of layers that repeats — the same ops on the same shapes with parameters of
the same shapes, each feeding only the next — collapses into one node "× k", so that a
deep MLP stays readable.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import backend
from ..tensor import Tensor, last_backward_root
from .text import format_shape
from .walk import backward_order


@dataclass
class GraphNode:
    """kind: "op", "repeat" (a collapsed chain), "parameter" (a leaf that requires a
    gradient), "input" (a leaf that does not) or "output"."""

    id: str
    kind: str
    label: str


@dataclass
class GraphEdge:
    source: str
    target: str
    label: str = ""


@dataclass
class ComputationGraph:
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)


def gradient_norm(tensor: Tensor) -> float | None:
    """The Euclidean norm of ``tensor.grad``, or None when it has none."""
    if tensor.grad is None:
        return None
    return float(backend.array_module(tensor.grad).linalg.norm(tensor.grad.astype("float64", copy=False)))


def _norm_text(norm: float | None) -> str:
    return "" if norm is None else f"‖grad‖ = {norm:.3g}"


def _shape_text(tensor: Tensor) -> str:
    """The shape, and the value of a one-element tensor: ``(128×10)``, ``() = 1.546``."""
    value = f" = {tensor.item():.4g}" if tensor.size == 1 else ""
    return format_shape(tensor.shape) + value


def _lines(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def _signature(node, leaves_of) -> tuple:
    """What must match for two ops to count as a repetition of one layer."""
    return node.name, tuple(tuple(t.shape) for t in leaves_of(node))


def _best_run_at(i: int, chained: list[bool], signatures: list, min_repeats: int) -> tuple | None:
    """The repetition starting at op ``i`` that covers the most ops, as ``(i, period, count)``."""
    best, n = None, len(signatures)
    for period in range(1, (n - i) // min_repeats + 1):
        count = 1
        while (i + (count + 1) * period <= n
               and signatures[i + count * period:i + (count + 1) * period] == signatures[i:i + period]
               and all(chained[i + 1:i + (count + 1) * period])):
            count += 1
        if count >= min_repeats and (best is None or period * count > best[1] * best[2]):
            best = (i, period, count)
    return best


def find_repeats(chained: list[bool], signatures: list, starts_layer: list[bool],
                 min_repeats: int) -> list[tuple[int, int, int]]:
    """Runs ``(start, period, count)`` where ops ``start … start + period − 1`` repeat
    ``count`` ≥ ``min_repeats`` times back to back along a chain (``chained[j]``: op j takes
    its only computed input from op j − 1, which feeds nothing else). Greedy from the
    first op, each time taking the run that covers the most ops; a run is started one op
    later when that op begins a layer (``starts_layer``: it takes parameters) and the run
    from there is as long, so that a pattern reads [Linear → ReLU], not [ReLU → Linear]."""
    runs, i = [], 0
    while i < len(signatures):
        best = _best_run_at(i, chained, signatures, min_repeats)
        if best is not None and not starts_layer[i] and i + 1 < len(signatures) and starts_layer[i + 1]:
            later = _best_run_at(i + 1, chained, signatures, min_repeats)
            if later is not None and later[1] * later[2] >= best[1] * best[2]:
                best = None
        if best is None:
            i += 1
        else:
            runs.append(best)
            i += best[1] * best[2]
    return runs


def build_graph(tensor: Tensor, names: dict[int, str] | None = None, collapse: bool | None = None,
                collapse_above: int = 10) -> ComputationGraph:
    """The graph that computed ``tensor``. names: ``id(parameter)`` → its name (from a
    model's ``named_parameters()``). collapse: fold repeated layers; None folds them
    only when there are more than ``collapse_above`` ops."""
    names = names or {}
    order, output_shapes = backward_order(tensor, "draw_graph")
    norm_of = gradient_norm if tensor.creator is not None and last_backward_root() is tensor.creator else _no_norm
    ops = order[::-1]
    consumers: dict[int, list] = {}
    for op in ops:
        for t in op.inputs:
            consumers.setdefault(id(t), []).append(op)

    def leaves_of(op):
        return [t for t in op.inputs if t.creator is None]

    def computed_inputs(op):
        return [t for t in op.inputs if t.creator is not None]

    chained = [False] * len(ops)
    for j, op in enumerate(ops[1:], start=1):
        inputs = computed_inputs(op)
        chained[j] = (len(inputs) == 1 and inputs[0].creator is ops[j - 1]
                      and len(consumers[id(inputs[0])]) == 1)
    if collapse is None:
        collapse = len(ops) > collapse_above
    signatures = [_signature(op, leaves_of) for op in ops]
    starts_layer = [any(t.requires_grad for t in leaves_of(op)) for op in ops]
    runs = find_repeats(chained, signatures, starts_layer, min_repeats=2) if collapse else []
    numbers, counts = [], {}
    for op in ops:
        counts[op.name] = counts.get(op.name, 0) + 1
        numbers.append(counts[op.name])

    graph = ComputationGraph()
    node_of: dict = {}
    collapsed_leaves: dict[str, list] = {}
    run_at = {start: (period, count) for start, period, count in runs}
    i = 0
    while i < len(ops):
        if i in run_at:
            period, count = run_at[i]
            members = ops[i:i + period * count]
            group = f"repeat{len(graph.nodes)}"
            for op in members:
                node_of[op] = group
            collapsed_leaves[group] = [t for op in members for t in leaves_of(op)]
            pattern = " → ".join(op.name for op in members[:period])
            first_in = computed_inputs(members[0]) or members[0].inputs
            shapes = f"{format_shape(first_in[0].shape)} → {format_shape(output_shapes[members[-1]])}"
            graph.nodes.append(GraphNode(group, "repeat", _lines(f"[{pattern}] × {count}", shapes)))
            i += period * count
            continue
        op = ops[i]
        node_of[op] = f"op{i + 1}"
        graph.nodes.append(GraphNode(node_of[op], "op", f"{op.name}#{numbers[i]}"))
        i += 1
    for group, leaves in collapsed_leaves.items():
        node = next(n for n in graph.nodes if n.id == group)
        node.label = _lines(node.label, _parameters_summary(leaves, consumers, node_of, group, norm_of))

    _add_leaves(graph, ops, consumers, node_of, names, norm_of)
    _add_op_edges(graph, ops, node_of, norm_of)
    out_id = "output"
    graph.nodes.append(GraphNode(out_id, "output", _lines(
        tensor.name or "output", _shape_text(tensor), _norm_text(norm_of(tensor)))))
    if ops:
        graph.edges.append(GraphEdge(node_of[ops[-1]], out_id))
    return graph


def _no_norm(tensor: Tensor) -> None:
    """No gradient norm: the leaves' gradients are not this graph's."""


def _parameters_summary(leaves, consumers, node_of, group, norm_of) -> str:
    """The parameters used only inside a collapsed chain: how many, and their gradient norms."""
    unique = {id(t): t for t in leaves}.values()
    inside = [t for t in unique if t.requires_grad and all(node_of[u] == group for u in consumers[id(t)])]
    if not inside:
        return ""
    norms = [n for n in (norm_of(t) for t in inside) if n is not None]
    spread = f", ‖grad‖ {min(norms):.3g} … {max(norms):.3g}" if norms else ""
    return f"{len(inside)} parameters{spread}"


def _add_leaves(graph, ops, consumers, node_of, names, norm_of) -> None:
    seen = set()
    for op in ops:
        for t in op.inputs:
            if t.creator is not None or id(t) in seen:
                continue
            seen.add(id(t))
            targets = list(dict.fromkeys(node_of[u] for u in consumers[id(t)]))
            if t.requires_grad and len(targets) == 1 and targets[0].startswith("repeat"):
                continue  # summarised in the collapsed node's label
            kind = "parameter" if t.requires_grad else "input"
            unnamed = kind if t.requires_grad or t.dtype.kind not in "iub" else "labels"
            name = names.get(id(t)) or t.name or unnamed
            leaf_id = f"leaf{len(seen)}"
            graph.nodes.append(GraphNode(leaf_id, kind, _lines(name, _shape_text(t), _norm_text(norm_of(t)))))
            graph.edges.extend(GraphEdge(leaf_id, target) for target in targets)


def _add_op_edges(graph, ops, node_of, norm_of) -> None:
    drawn = set()
    for op in ops:
        for t in op.inputs:
            if t.creator is None:
                continue
            source, target = node_of[t.creator], node_of[op]
            if source == target or (source, target, id(t)) in drawn:
                continue
            drawn.add((source, target, id(t)))
            graph.edges.append(GraphEdge(source, target, _lines(_shape_text(t), _norm_text(norm_of(t)))))
