"""Step functions, elementwise: sign, floor, ceil, round. Piecewise constant, so their
gradient is 0 wherever it exists (and PyTorch's is 0 everywhere, kinks included): ops on
the graph all the same, so that a gradient through them is a 0 of the right shape and
dtype, at first and at every higher order.

Shapes: x: S → y: S, in x's dtype.
"""
from __future__ import annotations

from ..backend import array_module
from ..tensor import Function, Tensor
from .registry import public, register


class _Step(Function):
    """y = step(x), constant between its jumps ⇒ dx = 0."""

    def forward(self, x):
        return self.step(array_module(x), x)

    def backward(self, dy):
        return (array_module(dy).zeros_like(dy),)

    def backward_graph(self, dy):
        return (dy * 0.0,)


@register("sign")
class Sign(_Step):
    formula = "y = sign x (−1, 0 or 1) ⇒ dx = 0"

    @staticmethod
    def step(xp, x):
        return xp.sign(x)


@public("sign")
def sign(a: Tensor) -> Tensor:
    return Sign()(a)


@register("floor")
class Floor(_Step):
    formula = "y = ⌊x⌋ ⇒ dx = 0"

    @staticmethod
    def step(xp, x):
        return xp.floor(x) if x.dtype.kind == "f" else x.copy()


@public("floor")
def floor(a: Tensor) -> Tensor:
    return Floor()(a)


@register("ceil")
class Ceil(_Step):
    formula = "y = ⌈x⌉ ⇒ dx = 0"

    @staticmethod
    def step(xp, x):
        return xp.ceil(x) if x.dtype.kind == "f" else x.copy()


@public("ceil")
def ceil(a: Tensor) -> Tensor:
    return Ceil()(a)


@register("round")
class Round(_Step):
    """Halves go to the even neighbour (2.5 → 2), as in PyTorch and NumPy."""

    def __init__(self, decimals: int = 0):
        self.decimals = int(decimals)

    formula = "y = x rounded to the nearest (even on a tie) ⇒ dx = 0"

    def step(self, xp, x):
        return xp.round(x, self.decimals) if x.dtype.kind == "f" else x.copy()


@public("round")
def round(a: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001 - the PyTorch name
    return Round(decimals)(a)
