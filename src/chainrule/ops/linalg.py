"""Matrix products: ``matmul`` with NumPy's rules for 1-D operands and batch broadcasting,
and ``linear``, the affine map of a layer, as one op with one backward."""
from __future__ import annotations

import math

from .. import kernels
from ..backend import array_module
from ..broadcast import sum_to
from ..errors import ShapeError
from ..tensor import Function, Tensor
from .dtypes import check_same_dtype, operands
from .registry import public, register


@register("matmul")
class MatMul(Function):
    """y = a @ b.

    a: (..., n, k) or (k,), b: (..., k, m) or (k,) → y: (..., n, m), with the
    1-D operands' axes dropped, as ``numpy.matmul``.
    """

    saved_names = ("a", "b")

    def forward(self, a, b):
        check_same_dtype("matmul", a, b)
        self.save_for_backward(a, b)
        try:
            return a @ b
        except ValueError:
            raise ShapeError(_mismatch(a.shape, b.shape)) from None

    formula = "y = a·b ⇒ da = dy·bᵀ, db = aᵀ·dy"

    def backward(self, dy):
        # summed over broadcast batch axes; a 1-D operand acts as a matrix with one row (a) or column (b)
        a, b = self.saved_tensors
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
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

    def backward_graph(self, dy):
        a, b = self.inputs
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        dy2 = dy.unsqueeze(-1) if b.ndim == 1 else dy
        if a.ndim == 1:
            dy2 = dy2.unsqueeze(-2)
        da = db = None
        if self.needs_input_grad[0]:
            da = (dy2 @ b2.transpose(-1, -2)).sum_to_size(a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            db = (a2.transpose(-1, -2) @ dy2).sum_to_size(b2.shape).reshape(b.shape)
        return da, db


@public("__matmul__", "matmul", reflected=("__rmatmul__",))
def matmul(a, b) -> Tensor:
    return MatMul()(*operands(a, b))


def _mismatch(a: tuple, b: tuple) -> str:
    """Why ``numpy.matmul`` refused operands of shapes ``a`` and ``b``."""
    if not a or not b:
        return f"matmul: expected operands with at least one axis, got shapes {a} and {b}"
    rows = b[-2] if len(b) > 1 else b[0]
    if a[-1] != rows:
        expected = f"(..., {a[-1]}, m)" if len(b) > 1 else f"({a[-1]},)"
        return f"matmul: expected b {expected} for a {a} (a's last axis meets b's rows), got b {b}"
    return f"matmul: the batch axes of a {a} and b {b} (all but the last two) do not broadcast together"


def _as_matrix(a):
    """``a`` as a 2-D (rows, last axis) array, a view when it can be.

    The products go through ``dot`` on 2-D arrays, not ``@``: NumPy's matmul hands an
    outer product (M×1)·(1×N), the weight gradient at batch size 1, to a general GEMM
    that takes ten times as long as the rank-1 update ``dot`` makes of it.
    """
    if a.ndim == 2:
        return a
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


@register("linear")
class Linear(Function):
    """Affine map y = x·Wᵀ + b.

    x: (..., D_in), W: (D_out, D_in), b: (D_out,) or absent → y: (..., D_out)
    """

    saved_names = ("x", "W")

    def forward(self, x, W, b=None):
        if x.shape[-1:] != W.shape[1:] or W.ndim != 2:
            raise ShapeError(f"linear: expected input (..., {W.shape[-1]}), got {x.shape}")
        if b is not None and b.shape != W.shape[:1]:
            raise ShapeError(f"linear: expected bias ({W.shape[0]},) for W {W.shape}, got bias {b.shape}")
        check_same_dtype("linear", x, W, *(() if b is None else (b,)))
        self.has_bias = b is not None
        self.x_shape = x.shape
        x2 = _as_matrix(x)
        self.save_for_backward(x2 if self.needs_input_grad[1] else None, W)
        y = array_module(x).dot(x2, W.T)
        if b is not None:
            y += b
        return y if x.ndim == 2 else y.reshape(*x.shape[:-1], W.shape[0])

    formula = "y = x·Wᵀ + b ⇒ dx = dy·W, dW = dyᵀ·x, db = Σ_batch dy"

    def backward(self, dy):
        x2, W = self.saved_tensors
        need = self.needs_input_grad
        dot = array_module(dy).dot
        dy2 = _as_matrix(dy)
        dx = dW = None
        if need[0]:
            dx = dot(dy2, W)
            if dy.ndim != 2:
                dx = dx.reshape(self.x_shape)
        if need[1]:
            dW = (kernels.outer(dy2, x2) if dy2.shape[0] == 1 else None)
            if dW is None:
                dW = dot(dy2.T, x2)
        if not self.has_bias:
            return dx, dW
        db = dy2.sum(axis=0) if need[2] else None
        return dx, dW, db

    def backward_graph(self, dy):
        x, W = self.inputs[:2]
        need = self.needs_input_grad
        dy2 = dy.reshape(-1, W.shape[0])
        dx = dy @ W if need[0] else None
        dW = dy2.t() @ x.reshape(-1, W.shape[1]) if need[1] else None
        if not self.has_bias:
            return dx, dW
        return dx, dW, dy2.sum(0) if need[2] else None


@public()
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x·weightᵀ + bias. x: (..., D_in), weight: (D_out, D_in), bias: (D_out,) → (..., D_out)."""
    if bias is None:
        return Linear()(x, weight)
    return Linear()(x, weight, bias)


@public("mm")
def mm(a: Tensor, b: Tensor) -> Tensor:
    """The product of two matrices (PyTorch's ``mm``: both 2-D, no broadcasting)."""
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: expects two matrices, got shapes {a.shape} and {b.shape}")
    return MatMul()(*operands(a, b))


@public("bmm")
def bmm(a: Tensor, b: Tensor) -> Tensor:
    """Batched products (PyTorch's ``bmm``): a (B, n, k) @ b (B, k, m) → (B, n, m), no broadcasting."""
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: expects batches (B, n, k) and (B, k, m) of one size B, got {a.shape} and {b.shape}")
    return MatMul()(*operands(a, b))


@public("outer")
def outer(a: Tensor, b: Tensor) -> Tensor:
    """a (n,) ⊗ b (m,) → (n, m): a column times a row, broadcast."""
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: expects two vectors, got shapes {a.shape} and {b.shape}")
    a, b = operands(a, b)
    return a.reshape(-1, 1) * b.reshape(1, -1)


def parse_einsum(equation: str, count: int) -> tuple[list[str], str]:
    """(the subscripts of each operand, those of the output) of an einsum equation; the implicit
    form's output is its letters that occur once, in alphabetical order, as NumPy and PyTorch."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    subscripts = inputs.split(",")
    if "." in equation:
        raise NotImplementedError("einsum: '...' (ellipsis) is not supported yet; name every axis")
    if len(subscripts) != count:
        raise ValueError(f"einsum: equation {equation!r} has {len(subscripts)} operands, got {count}")
    letters = "".join(subscripts)
    if not arrow:
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    for sub in subscripts + [output]:
        if not sub.isalpha() and sub:
            raise ValueError(f"einsum: subscripts must be letters, got {sub!r} in {equation!r}")
        if len(set(sub)) != len(sub):
            raise NotImplementedError(f"einsum: a letter repeated within {sub!r} (a diagonal or a trace) is not "
                                      f"supported yet in {equation!r}")
    missing = set(output) - set(letters)
    if missing:
        raise ValueError(f"einsum: output letters {sorted(missing)} occur in no operand of {equation!r}")
    return subscripts, output


@register("einsum")
class Einsum(Function):
    """y = einsum(equation, *operands): sums of products over the letters the output lacks."""

    def __init__(self, equation: str, count: int):
        self.equation = equation
        self.subscripts, self.output = parse_einsum(equation, count)

    @property
    def saved_names(self) -> tuple:
        return tuple(f"operand {i}" for i in range(len(self.subscripts)))

    def forward(self, *operands):
        check_same_dtype("einsum", *operands)
        for sub, x in zip(self.subscripts, operands):
            if len(sub) != x.ndim:
                raise ShapeError(f"einsum: subscripts {sub!r} name {len(sub)} axes, the operand has shape {x.shape}")
        self.save_for_backward(*operands)
        return array_module(operands[0]).einsum(f"{','.join(self.subscripts)}->{self.output}", *operands)

    formula = "y = Σ_(letters not in y) Π_k x_k ⇒ dx_k = einsum(dy with the other operands → x_k's letters)"

    def _gradient_equation(self, k: int) -> tuple[str, str]:
        """(the equation of operand k's gradient, the letters of k that it keeps): a letter of k
        found nowhere else was summed away in forward; its gradient broadcasts along it."""
        others = [sub for i, sub in enumerate(self.subscripts) if i != k]
        elsewhere = set(self.output).union(*others)
        kept = "".join(c for c in self.subscripts[k] if c in elsewhere)
        return f"{','.join([self.output, *others])}->{kept}", kept

    def _spread(self, k: int, kept: str, g, shape: tuple):
        """g (the letters ``kept``) with operand k's other axes restored, broadcast to its shape."""
        sub = self.subscripts[k]
        return g.reshape([shape[i] if c in kept else 1 for i, c in enumerate(sub)]), shape

    def backward(self, dy):
        xs = self.saved_tensors
        xp = array_module(dy)
        grads = []
        for k, x in enumerate(xs):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            equation, kept = self._gradient_equation(k)
            g = xp.einsum(equation, dy, *(y for i, y in enumerate(xs) if i != k))
            spread, shape = self._spread(k, kept, g, x.shape)
            grads.append(xp.broadcast_to(spread, shape).astype(x.dtype, copy=False))
        return tuple(grads)

    def backward_graph(self, dy):
        grads = []
        for k, x in enumerate(self.inputs):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            equation, kept = self._gradient_equation(k)
            others = [y for i, y in enumerate(self.inputs) if i != k]
            g = Einsum(equation, 1 + len(others))(dy, *others)
            spread, shape = self._spread(k, kept, g, x.shape)
            grads.append(spread.broadcast_to(shape))
        return tuple(grads)


@public()
def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, as ``torch.einsum("ij,jk->ik", a, b)`` (operands also as one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return Einsum(equation, len(operands))(*operands)
