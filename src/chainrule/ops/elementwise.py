"""Elementwise arithmetic. Inputs broadcast against each other; each backward sums
its gradients back to the input shapes (``sum_to``), as a by-hand caller expects.

Shapes: a: A, b: B → y: broadcast(A, B); da: A, db: B.
"""
from __future__ import annotations

import numpy

from .. import backend
from ..broadcast import sum_to
from ..tensor import Function
from .dtypes import check_same_dtype
from .registry import register


@register("add")
class Add(Function):
    formula = "da = dy, db = dy"

    broadcasts = True

    def forward(self, a, b):
        check_same_dtype("add", a, b)
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, dy):
        # y = a + b  ⇒  da = dy, db = dy
        sa, sb = self.shapes
        return sum_to(dy, sa), sum_to(dy, sb)


@register("sub")
class Sub(Function):
    formula = "da = dy, db = −dy"

    broadcasts = True

    def forward(self, a, b):
        check_same_dtype("sub", a, b)
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, dy):
        # y = a − b  ⇒  da = dy, db = −dy
        sa, sb = self.shapes
        return sum_to(dy, sa), sum_to(-dy, sb)


@register("mul")
class Mul(Function):
    formula = "da = dy·b, db = dy·a"

    broadcasts = True

    def forward(self, a, b):
        check_same_dtype("mul", a, b)
        self.a, self.b = a, b
        return a * b

    def backward(self, dy):
        # y = a·b  ⇒  da = dy·b, db = dy·a
        a, b = self.a, self.b
        da = sum_to(dy * b, a.shape) if self.needs_input_grad[0] else None
        db = sum_to(dy * a, b.shape) if self.needs_input_grad[1] else None
        return da, db


@register("div")
class Div(Function):
    formula = "da = dy/b, db = −dy·a/b²"

    broadcasts = True

    def forward(self, a, b):
        check_same_dtype("div", a, b)
        self.a, self.b = a, b
        return a / b

    def backward(self, dy):
        # y = a / b  ⇒  da = dy / b, db = −dy·a / b² = −dy·(a / b) / b
        # (b² itself would underflow to 0 or overflow to inf for |b| far from 1, e.g. 1e-200)
        a, b = self.a, self.b
        da = sum_to(dy / b, a.shape) if self.needs_input_grad[0] else None
        db = sum_to(-dy * (a / b) / b, b.shape) if self.needs_input_grad[1] else None
        return da, db


@register("neg")
class Neg(Function):
    formula = "da = −dy"

    def forward(self, a):
        return -a

    def backward(self, dy):
        # y = −a  ⇒  da = −dy
        return (-dy,)


@register("pow")
class Pow(Function):
    """Tensor exponent: y = a ** b, both differentiable."""

    formula = "da = dy·b·a^(b−1), db = dy·y·ln a"

    broadcasts = True

    def forward(self, a, b):
        check_same_dtype("pow", a, b)
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, dy):
        # y = a^b  ⇒  da = dy·b·a^(b−1), db = dy·y·ln a
        # PyTorch's conventions, which are the limits: da = 0 where b = 0 (y = 1 is constant in a,
        # even at a = 0 where b·a^(b−1) is 0·∞), db = 0 where a = 0 and b ≥ 0.
        xp = backend.xp
        a, b, y = self.a, self.b, self.y
        da = db = None
        if self.needs_input_grad[0]:
            with numpy.errstate(divide="ignore", invalid="ignore"):
                slope = b * a ** (b - 1)
            slope = xp.where(b == 0, 0, slope).astype(y.dtype, copy=False)
            da = sum_to(dy * slope, a.shape)
        if self.needs_input_grad[1]:
            with numpy.errstate(divide="ignore", invalid="ignore"):
                dlog = y * xp.log(a)
            dlog = xp.where((a == 0) & (b >= 0), 0, dlog).astype(y.dtype, copy=False)
            db = sum_to(dy * dlog, b.shape)
        return da, db


@register("pow_scalar")
class PowScalar(Function):
    """Constant exponent: y = a ** p for a Python number p."""

    formula = "da = dy·p·a^(p−1)"

    def __init__(self, exponent: float):
        self.exponent = exponent

    def forward(self, a):
        self.a = a
        return a**self.exponent

    def backward(self, dy):
        # y = a^p  ⇒  da = dy·p·a^(p−1);  p = 0: y = 1 is constant, da = 0 (also at a = 0, as PyTorch)
        p = self.exponent
        if p == 0:
            return (backend.xp.zeros_like(self.a, dtype=dy.dtype),)
        return (dy * p * self.a ** (p - 1),)


@register("exp")
class Exp(Function):
    formula = "da = dy·y"

    def forward(self, a):
        self.y = backend.xp.exp(a)
        return self.y

    def backward(self, dy):
        # y = eᵃ  ⇒  da = dy·y
        return (dy * self.y,)


@register("log")
class Log(Function):
    formula = "da = dy/a"

    def forward(self, a):
        self.a = a
        return backend.xp.log(a)

    def backward(self, dy):
        # y = ln a  ⇒  da = dy / a
        return (dy / self.a,)


@register("sqrt")
class Sqrt(Function):
    formula = "da = dy/(2y)"

    def forward(self, a):
        self.y = backend.xp.sqrt(a)
        return self.y

    def backward(self, dy):
        # y = √a  ⇒  da = dy / (2y)
        return (dy / (2 * self.y),)


@register("abs")
class Abs(Function):
    formula = "da = dy·sign(a)"

    def forward(self, a):
        self.a = a
        return backend.xp.abs(a)

    def backward(self, dy):
        # y = |a|  ⇒  da = dy·sign(a)   (0 at a = 0, as PyTorch)
        return (dy * backend.xp.sign(self.a),)


@register("maximum")
class Maximum(Function):
    formula = "da = dy·([a > b] + ½[a = b]), db = dy·([b > a] + ½[a = b])"

    broadcasts = True

    def forward(self, a, b):
        check_same_dtype("maximum", a, b)
        self.a, self.b = a, b
        return backend.xp.maximum(a, b)

    def backward(self, dy):
        # y = max(a, b)  ⇒  da = dy·[a > b], db = dy·[b > a]; a tie splits dy in half (PyTorch)
        a, b = self.a, self.b
        return _split_by_winner(dy, a, b, a > b, b > a)


@register("minimum")
class Minimum(Function):
    formula = "da = dy·([a < b] + ½[a = b]), db = dy·([b < a] + ½[a = b])"

    broadcasts = True

    def forward(self, a, b):
        check_same_dtype("minimum", a, b)
        self.a, self.b = a, b
        return backend.xp.minimum(a, b)

    def backward(self, dy):
        # y = min(a, b)  ⇒  da = dy·[a < b], db = dy·[b < a]; a tie splits dy in half (PyTorch)
        a, b = self.a, self.b
        return _split_by_winner(dy, a, b, a < b, b < a)


def _split_by_winner(dy, a, b, a_wins, b_wins):
    """Route dy to the winning operand; on a tie each gets half."""
    half_on_tie = 0.5 * (a == b)
    da = sum_to(dy * (a_wins + half_on_tie).astype(dy.dtype, copy=False), a.shape)
    db = sum_to(dy * (b_wins + half_on_tie).astype(dy.dtype, copy=False), b.shape)
    return da, db


@register("where")
class Where(Function):
    """y = a where condition else b. The condition (bool) takes no gradient."""

    formula = "da = dy·[condition], db = dy·[not condition]"

    broadcasts = True

    def forward(self, condition, a, b):
        check_same_dtype("where", a, b)
        self.condition = condition.astype(bool, copy=False)
        self.shapes = a.shape, b.shape
        return backend.xp.where(self.condition, a, b)

    def backward(self, dy):
        # y = c ? a : b  ⇒  da = dy·c, db = dy·(1 − c)
        zero = dy.dtype.type(0)
        sa, sb = self.shapes
        da = sum_to(backend.xp.where(self.condition, dy, zero), sa)
        db = sum_to(backend.xp.where(self.condition, zero, dy), sb)
        return None, da, db


@register("clip")
class Clip(Function):
    """y = min(max(a, low), high); either bound may be None."""

    formula = "da = dy·[low ≤ a ≤ high]"

    def __init__(self, low=None, high=None):
        if low is None and high is None:
            raise ValueError("clip: give at least one of low and high")
        self.low, self.high = low, high

    def forward(self, a):
        inside = backend.xp.ones(a.shape, dtype=bool)
        if self.low is not None:
            inside &= a >= self.low
        if self.high is not None:
            inside &= a <= self.high
        self.inside = inside
        return backend.xp.clip(a, self.low, self.high).astype(a.dtype, copy=False)

    def backward(self, dy):
        # y = clip(a)  ⇒  da = dy where low ≤ a ≤ high, else 0   (bounds included, as PyTorch)
        return (dy * self.inside,)


@register("cast")
class Cast(Function):
    """Change the floating dtype: y = a.astype(dtype)."""

    formula = "da = dy cast back to a's dtype"

    def __init__(self, dtype):
        self.dtype = numpy.dtype(dtype)

    def forward(self, a):
        self.source = a.dtype
        return a.astype(self.dtype)

    def backward(self, dy):
        # y = a (in another dtype)  ⇒  da = dy in a's dtype
        return (dy.astype(self.source),)
