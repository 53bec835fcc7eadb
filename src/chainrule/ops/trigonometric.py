"""Trigonometric functions, elementwise: sin, cos, tan, and atan2 of two broadcast inputs.

Shapes: x: S → y: S; atan2: a: A, b: B → y: broadcast(A, B).
"""
from __future__ import annotations

from ..backend import array_module
from ..broadcast import sum_to
from ..tensor import Function, Tensor
from .dtypes import check_same_dtype, floating, operands
from .registry import public, register


@register("sin")
class Sin(Function):
    saved_names = ("x",)

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).sin(x)

    formula = "y = sin x ⇒ dx = dy·cos x"

    def backward(self, dy):
        (x,) = self.saved_tensors
        return (dy * array_module(x).cos(x),)

    def backward_graph(self, dy):
        return (dy * cos(self.inputs[0]),)


@public("sin")
def sin(a: Tensor) -> Tensor:
    return Sin()(floating(a))


@register("cos")
class Cos(Function):
    saved_names = ("x",)

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).cos(x)

    formula = "y = cos x ⇒ dx = −dy·sin x"

    def backward(self, dy):
        (x,) = self.saved_tensors
        return (-dy * array_module(x).sin(x),)

    def backward_graph(self, dy):
        return (-dy * sin(self.inputs[0]),)


@public("cos")
def cos(a: Tensor) -> Tensor:
    return Cos()(floating(a))


@register("tan")
class Tan(Function):
    saved_names = ("y",)

    def forward(self, x):
        y = array_module(x).tan(x)
        self.save_for_backward(y)
        return y

    formula = "y = tan x ⇒ dx = dy·(1 + y²)"

    def backward(self, dy):
        (y,) = self.saved_tensors
        return (dy * (1.0 + y * y),)

    def backward_graph(self, dy):
        y = tan(self.inputs[0])
        return (dy * (y * y + 1.0),)


@public("tan")
def tan(a: Tensor) -> Tensor:
    return Tan()(floating(a))


@register("atan2")
class Atan2(Function):
    """y = atan2(a, b), the angle of the point (b, a), in (−π, π]."""

    broadcasts = True

    saved_names = ("a", "b")

    def forward(self, a, b):
        check_same_dtype("atan2", a, b)
        self.save_for_backward(a, b)
        return array_module(a).arctan2(a, b)

    formula = "y = atan2(a, b) ⇒ da = dy·b/(a² + b²), db = −dy·a/(a² + b²)"

    def backward(self, dy):
        # at a = b = 0 the gradient is 0/0 = nan, as in PyTorch
        a, b = self.saved_tensors
        scale = dy / (a * a + b * b)
        da = sum_to(scale * b, a.shape) if self.needs_input_grad[0] else None
        db = sum_to(-scale * a, b.shape) if self.needs_input_grad[1] else None
        return da, db

    def backward_graph(self, dy):
        a, b = self.inputs
        scale = dy / (a * a + b * b)
        return (scale * b if self.needs_input_grad[0] else None,
                -scale * a if self.needs_input_grad[1] else None)


@public("atan2", "arctan2")
def atan2(a, b) -> Tensor:
    """The angle of (b, a) in (−π, π] (``torch.atan2``); integers give the default floating dtype."""
    return Atan2()(*operands(a, b, true_division=True))
