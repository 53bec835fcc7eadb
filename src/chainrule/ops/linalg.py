"""Matrix product, with NumPy's rules for 1-D operands and batch broadcasting."""
from __future__ import annotations

from ..broadcast import sum_to
from ..errors import ShapeError
from ..tensor import Function
from .dtypes import check_same_dtype
from .registry import register


@register("matmul")
class MatMul(Function):
    """y = a @ b.

    a: (..., n, k) or (k,), b: (..., k, m) or (k,) → y: (..., n, m), with the
    1-D operands' axes dropped, as ``numpy.matmul``.
    """

    formula = "da = dy·bᵀ, db = aᵀ·dy"

    def forward(self, a, b):
        check_same_dtype("matmul", a, b)
        self.a, self.b = a, b
        try:
            return a @ b
        except ValueError:
            raise ShapeError(_mismatch(a.shape, b.shape)) from None

    def backward(self, dy):
        # y = a·b  ⇒  da = dy·bᵀ, db = aᵀ·dy   (summed over broadcast batch axes)
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a   # (k,) acts as (1, k)
        b2 = b[:, None] if b.ndim == 1 else b   # (k,) acts as (k, 1)
        dy2 = dy                                # restore the dropped axes: y2 = a2·b2
        if b.ndim == 1:
            dy2 = dy2[..., None]
        if a.ndim == 1:
            dy2 = dy2[..., None, :]
        da = db = None
        if self.needs_input_grad[0]:
            da = dy2 @ b2.swapaxes(-1, -2)
            da = sum_to(da, a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            db = a2.swapaxes(-1, -2) @ dy2
            db = sum_to(db, b2.shape).reshape(b.shape)
        return da, db


def _mismatch(a: tuple, b: tuple) -> str:
    """Why ``numpy.matmul`` refused operands of shapes ``a`` and ``b``."""
    if not a or not b:
        return f"matmul: expected operands with at least one axis, got shapes {a} and {b}"
    rows = b[-2] if len(b) > 1 else b[0]
    if a[-1] != rows:
        expected = f"(..., {a[-1]}, m)" if len(b) > 1 else f"({a[-1]},)"
        return f"matmul: expected b {expected} for a {a} (a's last axis meets b's rows), got b {b}"
    return f"matmul: the batch axes of a {a} and b {b} (all but the last two) do not broadcast together"
