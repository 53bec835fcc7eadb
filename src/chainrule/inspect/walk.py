"""The recorded graph behind a tensor, in the order backward() visits it."""
from __future__ import annotations

from ..tensor import Tensor, topological_order


def backward_order(tensor: Tensor, tool: str) -> tuple[list, dict]:
    """The nodes that ``tensor.backward()`` would run, in its order, and each node's
    output shape. Raises when backward has already freed the graph (``tool`` names the
    caller in the message)."""
    root = tensor.creator
    if root is None:
        return [], {}
    if root._released:
        raise RuntimeError(
            f"{tool} needs the graph, which backward() has freed: call {tool} before "
            f"backward(), or run backward(retain_graph=True) first"
        )
    order = topological_order(root)
    output_shapes = {root: tuple(tensor.shape)}
    for node in order:
        for t in node.inputs:
            if t.creator is not None:
                output_shapes[t.creator] = tuple(t.shape)
    return order, output_shapes
