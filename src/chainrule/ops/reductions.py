"""Reductions over an axis, a tuple of axes, or everything (axis=None).

Shapes: x: S → y: S with the reduced axes removed (kept as size 1 with keepdims).
Each backward first restores the reduced axes as size 1 (``_expand``), then
broadcasts back over them.
"""
from __future__ import annotations

import math

import numpy

from .. import backend
from ..tensor import Function
from .registry import register


def normalize_axes(axis, ndim: int, op: str) -> tuple:
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of positives."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for an input with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def reduced_axes(axis, ndim: int, op: str) -> tuple:
    """The axes a reduction (or softmax) runs over, as :func:`normalize_axes` gives them, except
    that a 0-d input has one reducible dim, as in PyTorch: ``dim`` 0 or −1 names it, and
    reducing over it leaves the single value as it is (sum, mean, max: x; softmax: 1)."""
    if ndim == 0 and axis is not None:
        for a in (axis,) if isinstance(axis, int) else tuple(axis):
            if a not in (0, -1):
                raise ValueError(f"{op}: axis {a} is out of range for a 0-d input (0 or -1 name its one dim)")
        return ()
    return normalize_axes(axis, ndim, op)


def stable_max(x, axes: tuple):
    """The max of ``x`` over ``axes`` (kept as size 1), to subtract before ``exp``.

    Infinite maxima and empty inputs give 0 instead: subtracting −∞ from an all −∞
    slice would turn it into nan, and an empty array has no max. The shift cancels
    out of every formula it is used in, so any finite value is correct.
    """
    xp = backend.xp
    if x.size == 0:
        return xp.zeros([1 if i in axes else n for i, n in enumerate(x.shape)], dtype=x.dtype)
    m = x.max(axis=axes, keepdims=True)
    return xp.where(xp.isfinite(m), m, 0)


class _Reduction(Function):
    def __init__(self, axis=None, keepdims: bool = False):
        self.axis = axis
        self.keepdims = keepdims

    def _axes(self, x) -> tuple:
        self.axes = reduced_axes(self.axis, x.ndim, self.op_name)
        self.x_shape = x.shape
        return self.axes

    def _count(self) -> int:
        """How many elements each output element reduces (call after ``_axes``)."""
        return math.prod(self.x_shape[a] for a in self.axes)

    def _expand(self, dy):
        """dy with the reduced axes restored as size 1."""
        if self.keepdims:
            return dy
        kept = [1 if i in self.axes else n for i, n in enumerate(self.x_shape)]
        return dy.reshape(kept)

    def _finish(self, y_kept):
        """The result from its keepdims form: the reduced axes dropped unless keepdims."""
        return y_kept if self.keepdims else backend.xp.squeeze(y_kept, axis=self.axes)


@register("sum")
class Sum(_Reduction):
    formula = "dx = dy broadcast over the summed axes"

    def forward(self, x):
        return x.sum(axis=self._axes(x), keepdims=self.keepdims)

    def backward(self, dy):
        # y = Σ_axes x  ⇒  dx = dy broadcast over the summed axes
        return (backend.xp.broadcast_to(self._expand(dy), self.x_shape),)


@register("mean")
class Mean(_Reduction):
    formula = "dx = dy/n broadcast over the averaged axes"

    def forward(self, x):
        axes = self._axes(x)
        self.count = self._count()
        return x.mean(axis=axes, keepdims=self.keepdims)

    def backward(self, dy):
        # y = (1/n)·Σ_axes x  ⇒  dx = dy/n broadcast over the averaged axes
        scale = 1.0 / self.count if self.count else float("nan")
        return (backend.xp.broadcast_to(self._expand(dy) * scale, self.x_shape),)


class _Extremum(_Reduction):
    """max or min over axes. Every element equal to the result shares the gradient
    evenly (as ``torch.amax``/``torch.amin``): a tie of k elements gives each dy/k."""

    formula = "dx = dy·[x = y] / #{x = y}"

    def forward(self, x):
        axes = self._axes(x)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{self.op_name}: cannot reduce over an empty axis (input shape {x.shape}, axis {self.axis})")
        y = self._reduce(x, axes)
        if self.needs_input_grad[0]:
            self.hits = x == y
        return self._finish(y)

    def backward(self, dy):
        # y = max_axes x  ⇒  dx = dy·[x = y] / #{x = y}   (the same for min)
        hits = self.hits.astype(dy.dtype)
        share = self._expand(dy) / hits.sum(axis=self.axes, keepdims=True)
        return (hits * share,)


@register("max")
class Max(_Extremum):
    def _reduce(self, x, axes):
        return x.max(axis=axes, keepdims=True)


@register("min")
class Min(_Extremum):
    def _reduce(self, x, axes):
        return x.min(axis=axes, keepdims=True)


@register("logsumexp")
class LogSumExp(_Reduction):
    """y = log Σ_axes exp(x), computed as m + log Σ exp(x − m) with m the max, so
    large inputs do not overflow. An empty or all −∞ slice gives −∞, as PyTorch."""

    formula = "dx = dy·softmax(x)"

    def forward(self, x):
        xp = backend.xp
        axes = self._axes(x)
        m = stable_max(x, axes)
        e = xp.exp(x - m)
        total = e.sum(axis=axes, keepdims=True)
        with numpy.errstate(divide="ignore"):
            y = xp.log(total) + m
        if self.needs_input_grad[0]:
            e /= total
            self.softmax = e
        return self._finish(y)

    def backward(self, dy):
        # y = log Σ eˣ  ⇒  dx = dy·eˣ/Σeˣ = dy·softmax(x)
        return (self.softmax * self._expand(dy),)


@register("var")
class Var(_Reduction):
    """Variance Σ(x − mean)² / (n − correction) over the axes.

    ``correction=1`` (the default, as ``torch.var``) is the unbiased sample
    variance; ``correction=0`` the population variance (NumPy's default ``ddof=0``).
    When n ≤ correction the divisor is 0 and the result inf or nan, as in PyTorch.
    """

    formula = "dx = dy·2(x − μ)/(n − c)"

    def __init__(self, axis=None, keepdims: bool = False, correction: float = 1):
        super().__init__(axis, keepdims)
        self.correction = correction

    def forward(self, x):
        axes = self._axes(x)
        count = self._count()
        self.divisor = max(count - self.correction, 0)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            centered = x - x.sum(axis=axes, keepdims=True) / count
            y = (centered * centered).sum(axis=axes, keepdims=self.keepdims) / self.divisor
        if self.needs_input_grad[0]:
            self.centered = centered
        return y

    def backward(self, dy):
        # y = Σ(x − μ)²/(n − c)  ⇒  dx = dy·2(x − μ)/(n − c)   (μ's own term vanishes: Σ(x − μ) = 0)
        scale = 2.0 / self.divisor if self.divisor else math.inf
        with numpy.errstate(invalid="ignore"):
            return (self.centered * (self._expand(dy) * scale),)
