"""Elementwise arithmetic. Inputs broadcast against each other; each backward sums
its gradients back to the input shapes (``sum_to``), as a by-hand caller expects.

Shapes: a: A, b: B → y: broadcast(A, B); da: A, db: B.
"""
from __future__ import annotations

import numpy

from ..backend import array_module
from ..broadcast import sum_to
from ..tensor import Function, Tensor, as_tensor_like
from .dtypes import check_same_dtype, floating, operands, promoted
from .registry import public, register


@register("add")
class Add(Function):
    broadcasts = True

    def forward(self, a, b):
        check_same_dtype("add", a, b)
        self.shapes = a.shape, b.shape
        return a + b

    formula = "y = a + b ⇒ da = dy, db = dy"

    def backward(self, dy):
        sa, sb = self.shapes
        return sum_to(dy, sa), sum_to(dy, sb)

    def backward_graph(self, dy):
        return dy, dy


@public("__add__", reflected=("__radd__",))
def add(a, b) -> Tensor:
    return Add()(*operands(a, b))


@register("sub")
class Sub(Function):
    broadcasts = True

    def forward(self, a, b):
        check_same_dtype("sub", a, b)
        self.shapes = a.shape, b.shape
        return a - b

    formula = "y = a − b ⇒ da = dy, db = −dy"

    def backward(self, dy):
        sa, sb = self.shapes
        return sum_to(dy, sa), sum_to(-dy, sb)

    def backward_graph(self, dy):
        return dy, -dy


@public("__sub__", reflected=("__rsub__",))
def sub(a, b) -> Tensor:
    return Sub()(*operands(a, b))


@register("mul")
class Mul(Function):
    broadcasts = True

    saved_names = ("a", "b")

    def forward(self, a, b):
        check_same_dtype("mul", a, b)
        self.save_for_backward(a, b)
        return a * b

    formula = "y = a·b ⇒ da = dy·b, db = dy·a"

    def backward(self, dy):
        a, b = self.saved_tensors
        da = sum_to(dy * b, a.shape) if self.needs_input_grad[0] else None
        db = sum_to(dy * a, b.shape) if self.needs_input_grad[1] else None
        return da, db

    def backward_graph(self, dy):
        a, b = self.inputs
        return (dy * b if self.needs_input_grad[0] else None,
                dy * a if self.needs_input_grad[1] else None)


@public("__mul__", reflected=("__rmul__",))
def mul(a, b) -> Tensor:
    return Mul()(*operands(a, b))


@register("div")
class Div(Function):
    broadcasts = True

    saved_names = ("a", "b")

    def forward(self, a, b):
        check_same_dtype("div", a, b)
        self.save_for_backward(a, b)
        return a / b

    formula = "y = a/b ⇒ da = dy/b, db = −dy·a/b²"

    def backward(self, dy):
        # db as −dy·(a/b)/b: b² itself would underflow to 0 or overflow to inf for |b| far from 1
        a, b = self.saved_tensors
        da = sum_to(dy / b, a.shape) if self.needs_input_grad[0] else None
        db = sum_to(-dy * (a / b) / b, b.shape) if self.needs_input_grad[1] else None
        return da, db

    def backward_graph(self, dy):
        a, b = self.inputs
        return (dy / b if self.needs_input_grad[0] else None,
                -dy * (a / b) / b if self.needs_input_grad[1] else None)


@public("__truediv__", reflected=("__rtruediv__",))
def div(a, b) -> Tensor:
    """a / b, true division: integer operands give the default floating dtype, as in PyTorch."""
    return Div()(*operands(a, b, true_division=True))


@register("neg")
class Neg(Function):
    def forward(self, a):
        return -a

    formula = "y = −a ⇒ da = −dy"

    def backward(self, dy):
        return (-dy,)

    def backward_graph(self, dy):
        return (-dy,)


@public("__neg__")
def neg(a: Tensor) -> Tensor:
    return Neg()(a)


@register("pow")
class Pow(Function):
    """Tensor exponent: y = a ** b, both differentiable."""

    broadcasts = True

    saved_names = ("a", "b", "y")

    def forward(self, a, b):
        check_same_dtype("pow", a, b)
        y = a**b
        self.save_for_backward(a, b, y)
        return y

    formula = "y = a^b ⇒ da = dy·b·a^(b−1), db = dy·y·ln a"

    def backward(self, dy):
        # PyTorch's conventions, which are the limits: da = 0 where b = 0 (y = 1 is constant in a,
        # even at a = 0 where b·a^(b−1) is 0·∞), db = 0 where a = 0 and b ≥ 0.
        a, b, y = self.saved_tensors
        xp = array_module(y)
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

    def backward_graph(self, dy):
        # The same limits on the graph: where a term is 0 by convention, its base is replaced by 1
        # (a constant) so that no 0·∞ reaches the next derivative.
        a, b = self.inputs
        da = db = None
        if self.needs_input_grad[0]:
            base = where(Tensor((a.data == 0) & (b.data == 0)), 1.0, a)
            da = dy * b * base ** (b - 1.0)
        if self.needs_input_grad[1]:
            at_zero = Tensor((a.data == 0) & (b.data >= 0))
            db = where(at_zero, 0.0, dy * a**b * log(where(at_zero, 1.0, a)))
        return da, db


@register("pow_scalar")
class PowScalar(Function):
    """Constant exponent: y = a ** p for a Python number p."""

    def __init__(self, exponent: float):
        self.exponent = exponent

    saved_names = ("a",)

    def forward(self, a):
        self.save_for_backward(a)
        return a**self.exponent

    formula = "y = a^p ⇒ da = dy·p·a^(p−1)"

    def backward(self, dy):
        # p = 0: y = 1 is constant, da = 0 (also at a = 0, as PyTorch)
        (a,) = self.saved_tensors
        p = self.exponent
        if p == 0:
            return (array_module(a).zeros_like(a, dtype=dy.dtype),)
        return (dy * p * a ** (p - 1),)

    def backward_graph(self, dy):
        (a,) = self.inputs
        p = self.exponent
        if p == 0:
            return (dy * 0.0,)
        return (dy * p * a ** (p - 1),)


@public("__pow__", "pow", reflected=("__rpow__",))
def pow(a, exponent) -> Tensor:  # noqa: A001 - the PyTorch name
    """a ** exponent; a number as exponent takes no gradient (cheaper). An integer tensor to
    a floating number gives the default floating dtype, as in PyTorch."""
    if isinstance(exponent, (int, float)) and isinstance(a, Tensor):
        if a.data.dtype.kind in "biu" and (isinstance(exponent, float) or a.data.dtype.kind == "b"):
            a = promoted(a, exponent)[0]
        # .item() turns a NumPy scalar into a Python number, which cannot upcast float32.
        return PowScalar(getattr(exponent, "item", lambda: exponent)())(a)
    return Pow()(*operands(a, exponent))


@register("exp")
class Exp(Function):
    saved_names = ("y",)

    def forward(self, a):
        y = array_module(a).exp(a)
        self.save_for_backward(y)
        return y

    formula = "y = eᵃ ⇒ da = dy·y"

    def backward(self, dy):
        (y,) = self.saved_tensors
        return (dy * y,)

    def backward_graph(self, dy):
        return (dy * exp(self.inputs[0]),)


@public("exp")
def exp(a: Tensor) -> Tensor:
    return Exp()(floating(a))


@register("log")
class Log(Function):
    saved_names = ("a",)

    def forward(self, a):
        self.save_for_backward(a)
        return array_module(a).log(a)

    formula = "y = ln a ⇒ da = dy/a"

    def backward(self, dy):
        (a,) = self.saved_tensors
        return (dy / a,)

    def backward_graph(self, dy):
        return (dy / self.inputs[0],)


@public("log")
def log(a: Tensor) -> Tensor:
    return Log()(floating(a))


@register("sqrt")
class Sqrt(Function):
    saved_names = ("y",)

    def forward(self, a):
        y = array_module(a).sqrt(a)
        self.save_for_backward(y)
        return y

    formula = "y = √a ⇒ da = dy/(2y)"

    def backward(self, dy):
        (y,) = self.saved_tensors
        return (dy / (2 * y),)

    def backward_graph(self, dy):
        return (dy / (2 * sqrt(self.inputs[0])),)


@public("sqrt")
def sqrt(a: Tensor) -> Tensor:
    return Sqrt()(floating(a))


@register("abs")
class Abs(Function):
    saved_names = ("a",)

    def forward(self, a):
        self.save_for_backward(a)
        return array_module(a).abs(a)

    formula = "y = |a| ⇒ da = dy·sign(a)"

    def backward(self, dy):
        # sign(0) = 0: the gradient at a = 0 is 0, as PyTorch
        (a,) = self.saved_tensors
        return (dy * array_module(a).sign(a),)

    def backward_graph(self, dy):
        a = self.inputs[0].data
        return (dy * Tensor(array_module(a).sign(a)),)


@public("__abs__", "abs")
def abs(a: Tensor) -> Tensor:  # noqa: A001 - the PyTorch name
    return Abs()(a)


@register("maximum")
class Maximum(Function):
    broadcasts = True

    saved_names = ("a", "b")

    def forward(self, a, b):
        check_same_dtype("maximum", a, b)
        self.save_for_backward(a, b)
        return array_module(a).maximum(a, b)

    formula = "y = max(a, b) ⇒ da = dy·([a > b] + ½[a = b]), db = dy·([b > a] + ½[a = b])"

    def backward(self, dy):
        a, b = self.saved_tensors
        da, db = _winner_weights(a, b, a > b, b > a, dy.dtype)
        return sum_to(dy * da, a.shape), sum_to(dy * db, b.shape)

    def backward_graph(self, dy):
        a, b = (t.data for t in self.inputs)
        da, db = _winner_weights(a, b, a > b, b > a, dy.dtype)
        return dy * Tensor(da), dy * Tensor(db)


@public("maximum")
def maximum(a, b) -> Tensor:
    return Maximum()(*operands(a, b))


@register("minimum")
class Minimum(Function):
    broadcasts = True

    saved_names = ("a", "b")

    def forward(self, a, b):
        check_same_dtype("minimum", a, b)
        self.save_for_backward(a, b)
        return array_module(a).minimum(a, b)

    formula = "y = min(a, b) ⇒ da = dy·([a < b] + ½[a = b]), db = dy·([b < a] + ½[a = b])"

    def backward(self, dy):
        a, b = self.saved_tensors
        da, db = _winner_weights(a, b, a < b, b < a, dy.dtype)
        return sum_to(dy * da, a.shape), sum_to(dy * db, b.shape)

    def backward_graph(self, dy):
        a, b = (t.data for t in self.inputs)
        da, db = _winner_weights(a, b, a < b, b < a, dy.dtype)
        return dy * Tensor(da), dy * Tensor(db)


@public("minimum")
def minimum(a, b) -> Tensor:
    return Minimum()(*operands(a, b))


def _winner_weights(a, b, a_wins, b_wins, dtype):
    """Where dy goes, as weights for a and for b: to the winning operand; on a tie half each (as
    PyTorch). Piecewise constant, so the second derivative through them is 0."""
    half_on_tie = 0.5 * (a == b)
    return (a_wins + half_on_tie).astype(dtype, copy=False), (b_wins + half_on_tie).astype(dtype, copy=False)


@register("where")
class Where(Function):
    """y = a where condition else b. The condition (bool) takes no gradient."""

    broadcasts = True

    saved_names = ("condition",)

    def forward(self, condition, a, b):
        check_same_dtype("where", a, b)
        condition = condition.astype(bool, copy=False)
        self.save_for_backward(condition)
        self.shapes = a.shape, b.shape
        return array_module(a).where(condition, a, b)

    formula = "y = condition ? a : b ⇒ da = dy·[condition], db = dy·[not condition]"

    def backward(self, dy):
        (condition,) = self.saved_tensors
        xp = array_module(dy)
        zero = dy.dtype.type(0)
        sa, sb = self.shapes
        da = sum_to(xp.where(condition, dy, zero), sa)
        db = sum_to(xp.where(condition, zero, dy), sb)
        return None, da, db

    def backward_graph(self, dy):
        condition = self.inputs[0]
        return None, where(condition, dy, 0.0), where(condition, 0.0, dy)


@public()
def where(condition, a, b) -> Tensor:
    """Elementwise ``a if condition else b``; the condition takes no gradient."""
    a, b = operands(a, b)
    condition = condition.data if isinstance(condition, Tensor) else array_module(a.data).asarray(condition)
    return Where()(Tensor(condition), a, b)


@register("clip")
class Clip(Function):
    """y = min(max(a, low), high); either bound may be None."""

    def __init__(self, low=None, high=None):
        if low is None and high is None:
            raise ValueError("clip: give at least one of low and high")
        self.low, self.high = low, high

    saved_names = ("inside",)

    def forward(self, a):
        xp = array_module(a)
        self.save_for_backward(self._inside(a, xp))
        return xp.clip(a, self.low, self.high).astype(a.dtype, copy=False)

    def _inside(self, a, xp):
        """Where the gradient passes: between the bounds, bounds included (as torch.clamp)."""
        inside = xp.ones(a.shape, dtype=bool)
        if self.low is not None:
            inside &= a >= self.low
        if self.high is not None:
            inside &= a <= self.high
        return inside

    formula = "y = clip(a, low, high) ⇒ da = dy·[low ≤ a ≤ high]"

    def backward(self, dy):
        # bounds included, as PyTorch
        (inside,) = self.saved_tensors
        return (dy * inside,)

    def backward_graph(self, dy):
        (inside,) = self.saved_tensors
        return (dy * Tensor(inside.astype(dy.dtype)),)


@public()
def clip(a: Tensor, low=None, high=None) -> Tensor:
    """min(max(a, low), high) with number bounds (NumPy's clip); see :func:`clamp` for PyTorch's."""
    return Clip(low, high)(a)


@register("clamp")
class Clamp(Function):
    """y = min(max(x, low), high) with Tensor bounds, each broadcast against x; either may be absent."""

    broadcasts = True

    def __init__(self, has_low: bool, has_high: bool):
        self.has_low, self.has_high = has_low, has_high

    saved_names = ("above_low", "below_high")

    def forward(self, x, *bounds):
        check_same_dtype("clamp", x, *bounds)
        xp = array_module(x)
        bounds = iter(bounds)
        low = next(bounds) if self.has_low else None
        high = next(bounds) if self.has_high else None
        y = x
        above_low = below_high = None
        if low is not None:
            above_low = x >= low
            y = xp.maximum(y, low)
        if high is not None:
            below_high = x <= high
            y = xp.minimum(y, high)
        self.save_for_backward(above_low, below_high)
        return y

    formula = "y = min(max(x, low), high) ⇒ dx = dy·[low ≤ x ≤ high], dlow = dy·[x < low], dhigh = dy·[x > high]"

    def backward(self, dy):
        # PyTorch's rule, whatever the order of the bounds: each input takes dy where it decides y
        above_low, below_high = self.saved_tensors
        inside = _both(above_low, below_high)
        grads = [dy * inside]
        if above_low is not None:
            grads.append(dy * ~above_low)
        if below_high is not None:
            grads.append(dy * ~below_high)
        return tuple(grads)

    def backward_graph(self, dy):
        above_low, below_high = self.saved_tensors
        masks = [_both(above_low, below_high)] + [~m for m in (above_low, below_high) if m is not None]
        return tuple(dy * Tensor(mask.astype(dy.dtype)) for mask in masks)


def _both(a, b):
    return a if b is None else b if a is None else a & b


@public("clamp", "clip")
def clamp(a: Tensor, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """min(max(a, min), max) as ``torch.clamp``: numbers, or Tensors broadcast against ``a`` (then
    the gradient also reaches the bound that decides each element)."""
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        bounds = [b for b in (min, max) if b is not None]
        return Clamp(min is not None, max is not None)(a, *[as_tensor_like(b, a) for b in bounds])
    return Clip(min, max)(a)


@register("log1p")
class Log1p(Function):
    saved_names = ("x",)

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).log1p(x)

    formula = "y = ln(1 + x) ⇒ dx = dy/(1 + x)"

    def backward(self, dy):
        (x,) = self.saved_tensors
        return (dy / (1.0 + x),)

    def backward_graph(self, dy):
        return (dy / (self.inputs[0] + 1.0),)


@public("log1p")
def log1p(a: Tensor) -> Tensor:
    """ln(1 + a), exact for small a."""
    return Log1p()(floating(a))


@register("expm1")
class Expm1(Function):
    saved_names = ("y",)

    def forward(self, x):
        y = array_module(x).expm1(x)
        self.save_for_backward(y)
        return y

    formula = "y = eˣ − 1 ⇒ dx = dy·(y + 1)"

    def backward(self, dy):
        (y,) = self.saved_tensors
        return (dy * (y + 1.0),)

    def backward_graph(self, dy):
        return (dy * exp(self.inputs[0]),)


@public("expm1")
def expm1(a: Tensor) -> Tensor:
    """eᵃ − 1, exact for small a."""
    return Expm1()(floating(a))


@register("rsqrt")
class Rsqrt(Function):
    saved_names = ("y",)

    def forward(self, x):
        y = 1.0 / array_module(x).sqrt(x)
        self.save_for_backward(y)
        return y

    formula = "y = 1/√x ⇒ dx = −½·dy·y³"

    def backward(self, dy):
        (y,) = self.saved_tensors
        return (dy * (-0.5 * y * y * y),)

    def backward_graph(self, dy):
        y = rsqrt(self.inputs[0])
        return (dy * (y * y * y * -0.5),)


@public("rsqrt")
def rsqrt(a: Tensor) -> Tensor:
    return Rsqrt()(floating(a))


@register("reciprocal")
class Reciprocal(Function):
    saved_names = ("y",)

    def forward(self, x):
        y = 1.0 / x
        self.save_for_backward(y)
        return y

    formula = "y = 1/x ⇒ dx = −dy·y²"

    def backward(self, dy):
        (y,) = self.saved_tensors
        return (-dy * (y * y),)

    def backward_graph(self, dy):
        y = reciprocal(self.inputs[0])
        return (-dy * (y * y),)


@public("reciprocal")
def reciprocal(a: Tensor) -> Tensor:
    return Reciprocal()(floating(a))


@register("square")
class Square(Function):
    saved_names = ("x",)

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    formula = "y = x² ⇒ dx = 2x·dy"

    def backward(self, dy):
        (x,) = self.saved_tensors
        return (dy * (2 * x),)

    def backward_graph(self, dy):
        return (dy * (self.inputs[0] * 2.0),)


@public("square")
def square(a: Tensor) -> Tensor:
    return Square()(a)


@register("lerp")
class Lerp(Function):
    """y = start + weight·(end − start), all three broadcast together."""

    broadcasts = True

    saved_names = ("start", "end", "weight")

    def forward(self, start, end, weight):
        check_same_dtype("lerp", start, end, weight)
        self.save_for_backward(start, end, weight)
        return start + weight * (end - start)

    formula = ("y = start + weight·(end − start) "
               "⇒ dstart = dy·(1 − weight), dend = dy·weight, dweight = dy·(end − start)")

    def backward(self, dy):
        start, end, weight = self.saved_tensors
        need = self.needs_input_grad
        return (sum_to(dy * (1.0 - weight), start.shape) if need[0] else None,
                sum_to(dy * weight, end.shape) if need[1] else None,
                sum_to(dy * (end - start), weight.shape) if need[2] else None)

    def backward_graph(self, dy):
        start, end, weight = self.inputs
        need = self.needs_input_grad
        return (dy * (1.0 - weight) if need[0] else None,
                dy * weight if need[1] else None,
                dy * (end - start) if need[2] else None)


@public("lerp")
def lerp(start: Tensor, end, weight) -> Tensor:
    """start + weight·(end − start) (``torch.lerp``); weight a number or a Tensor."""
    end, weight = (as_tensor_like(v, start) for v in (end, weight))
    return Lerp()(start, end, weight)


@register("cast")
class Cast(Function):
    """Change the floating dtype: y = a.astype(dtype)."""

    def __init__(self, dtype):
        self.dtype = numpy.dtype(dtype)

    def forward(self, a):
        self.source = a.dtype
        return a.astype(self.dtype)

    formula = "y = a in another dtype ⇒ da = dy cast back to a's dtype"

    def backward(self, dy):
        return (dy.astype(self.source),)

    def backward_graph(self, dy):
        return (cast(dy, self.source),)


@public("astype")
def cast(a: Tensor, dtype) -> Tensor:
    return Cast(dtype)(a)
