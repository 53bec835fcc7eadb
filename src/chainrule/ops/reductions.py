"""Reductions over an axis, a tuple of axes, or everything (axis=None).

Shapes: x: S → y: S with the reduced axes removed (kept as size 1 with keepdims).
Each backward first restores the reduced axes as size 1 (``_expand``), then
broadcasts back over them.
"""
from __future__ import annotations

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


class _Reduction(Function):
    def __init__(self, axis=None, keepdims: bool = False):
        self.axis = axis
        self.keepdims = keepdims

    def _axes(self, x) -> tuple:
        self.axes = normalize_axes(self.axis, x.ndim, self.op_name)
        self.x_shape = x.shape
        return self.axes

    def _expand(self, dy):
        """dy with the reduced axes restored as size 1."""
        if self.keepdims:
            return dy
        kept = [1 if i in self.axes else n for i, n in enumerate(self.x_shape)]
        return dy.reshape(kept)


@register("sum")
class Sum(_Reduction):
    def forward(self, x):
        return x.sum(axis=self._axes(x), keepdims=self.keepdims)

    def backward(self, dy):
        # y = Σ_axes x  ⇒  dx = dy broadcast over the summed axes
        return (backend.xp.broadcast_to(self._expand(dy), self.x_shape),)


@register("mean")
class Mean(_Reduction):
    def forward(self, x):
        axes = self._axes(x)
        self.count = 1
        for a in axes:
            self.count *= x.shape[a]
        return x.mean(axis=axes, keepdims=self.keepdims)

    def backward(self, dy):
        # y = (1/n)·Σ_axes x  ⇒  dx = dy/n broadcast over the averaged axes
        scale = 1.0 / self.count if self.count else float("nan")
        return (backend.xp.broadcast_to(self._expand(dy) * scale, self.x_shape),)
