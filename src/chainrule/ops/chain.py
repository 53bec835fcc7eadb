"""Chain: Functions applied one after another, recorded as one node of the graph.

A training step at batch size 1 spends more time recording and walking the graph
than computing: every op is a node, a Tensor, a backward dispatch. ``Chain`` runs
the same ops' ``forward`` and ``backward`` on arrays, in order and in reverse, under
one node, so a whole model and its loss cost the graph one node. The numbers do not
change: each op rounds exactly as it does on its own.
"""
from __future__ import annotations

from ..tensor import Function, fit_gradient
from .registry import register


@register("chain")
class Chain(Function):
    """f_n(…f_2(f_1(x, e_1), e_2)…, e_n): each Function takes the previous output and
    its own extra inputs (parameters, labels).

    steps: [(function, k), ...], k = how many extra inputs that function takes.
    Inputs: x, then the extra inputs of every step in order → the last output.
    """

    formula = "dx_{i-1} = J_iᵀ·dx_i, from the last step back to the first (the chain rule)"

    def __init__(self, steps: list):
        self.steps = steps
        self.extra_count = sum(count for _, count in steps)

    @property
    def name(self) -> str:
        steps = getattr(self, "steps", None)  # gone once backward has released the node
        return "Chain(" + " → ".join(function.name for function, _ in steps) + ")" if steps else "Chain"

    def forward(self, x, *extras):
        if len(extras) != self.extra_count:
            raise TypeError(f"{self.name}: expected x and {self.extra_count} extra inputs, got {len(extras)}")
        need = self.needs_input_grad
        if type(need) is not tuple:  # called by hand: every input wants a gradient
            need = (True,) * (1 + len(extras))
        # A step's input needs a gradient once x or any earlier step's extra input does.
        flowing = need[0]
        start = 0
        self.input_forms = forms = []
        for function, count in self.steps:
            end = start + count
            wants = need[1 + start : 1 + end]
            function.needs_input_grad = (flowing, *wants)
            forms.append((x.shape, x.dtype))
            x = function.forward(x, *extras[start:end])
            flowing = flowing or True in wants
            start = end
        return x

    def backward(self, dy):
        # y = f_n ∘ … ∘ f_1  ⇒  each step maps the gradient of its output to those of its inputs
        grads_backwards = []
        for (function, count), (shape, dtype) in zip(reversed(self.steps), reversed(self.input_forms)):
            if dy is None:  # no earlier step has an input that needs a gradient
                grads_backwards.append((None,) * count)
                continue
            grads = function.backward(dy)
            if type(grads) is not tuple:
                grads = (grads,)
            if len(grads) != 1 + count:
                raise RuntimeError(f"{function.name}.backward returned {len(grads)} gradients for {1 + count} inputs")
            dy = grads[0]
            if dy is not None and (dy.shape != shape or dy.dtype != dtype):
                dy = fit_gradient(function.name, shape, dtype, dy)
            grads_backwards.append(grads[1:])
        grads_backwards.reverse()
        return (dy, *[g for grads in grads_backwards for g in grads])
