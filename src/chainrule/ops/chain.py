"""Chain: Functions applied one after another, recorded as one node of the graph.

A training step at batch size 1 spends more time recording and walking the graph
than computing: every op is a node, a Tensor, a backward dispatch. ``Chain`` runs
the same ops' ``forward`` and ``backward`` on arrays, in order and in reverse, under
one node, so a whole model and its loss cost the graph one node. The numbers do not
change: each op rounds exactly as it does on its own.
"""
from __future__ import annotations

import copy

from ..tensor import Function, fit_gradient, gradient_tuple, recomputed_gradients
from .registry import register


@register("chain")
class Chain(Function):
    """f_n(…f_2(f_1(x, e_1), e_2)…, e_n): each Function takes the previous output and
    its own extra inputs (parameters, labels).

    steps: [(function, k), ...], k = how many extra inputs that function takes.
    Inputs: x, then the extra inputs of every step in order → the last output.
    """

    def __init__(self, steps: list):
        self.steps = steps
        # Where each step's extra inputs sit among all the inputs (x is input 0).
        self.spans = spans = []
        start = 1
        for function, count in steps:
            spans.append((function, start, start + count))
            start += count
        self.input_count = start

    @property
    def name(self) -> str:
        return "Chain(" + " → ".join(function.name for function, _ in self.steps) + ")"

    def release(self) -> None:
        """Each step keeps its own saved arrays: free them with the node's."""
        for function, _ in self.steps:
            function.release()
        super().release()

    def forward(self, x, *extras):
        inputs = (x, *extras)
        if len(inputs) != self.input_count:
            raise TypeError(f"{self.name}: expected x and {self.input_count - 1} extra inputs, got {len(extras)}")
        need = self.needs_input_grad
        if type(need) is not tuple:  # called by hand: every input wants a gradient
            need = (True,) * len(inputs)
        # A step's input needs a gradient once x or any earlier step's extra input does.
        flowing = need[0]
        self.input_forms = forms = []
        for function, start, end in self.spans:
            forms.append((x.shape, x.dtype))
            if start == end:
                function.needs_input_grad = (flowing,)
                x = function.forward(x)
            else:
                wants = need[start:end]
                function.needs_input_grad = (flowing, *wants)
                x = function.forward(x, *inputs[start:end])
                flowing = flowing or True in wants
        return x

    formula = "y = f_n ∘ … ∘ f_1 ⇒ dx_{i-1} = J_iᵀ·dx_i, from the last step back to the first (the chain rule)"

    def backward(self, dy):
        grads = [None] * self.input_count
        for (function, start, end), (shape, dtype) in zip(reversed(self.spans), reversed(self.input_forms)):
            if dy is None:  # no earlier step has an input that needs a gradient
                break
            step_grads = gradient_tuple(function, function.backward(dy), 1 + end - start)
            dy = step_grads[0]
            if dy is not None and (dy.shape != shape or dy.dtype != dtype):
                dy = fit_gradient(function.name, shape, dtype, dy)
            grads[start:end] = step_grads[1:]
        grads[0] = dy
        return tuple(grads)

    def backward_graph(self, dy):
        # The steps again on the graph, as separate nodes (a step's ``replay`` reuses what its
        # forward drew or updated: dropout's mask), then their own backward_graph through them.
        def replayed(x, *others):
            inputs = (x, *others)
            for function, start, end in self.spans:
                replay = getattr(function, "replay", None) or copy.copy(function)
                x = replay(x, *inputs[start:end])
            return x

        return recomputed_gradients(self, replayed, dy)
