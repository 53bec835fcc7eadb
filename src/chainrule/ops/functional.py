"""The ops as plain functions of Tensors: ``relu(x)``, ``linear(x, W, b)``, ...

Each builds a fresh Function (one graph node) and calls it. Non-Tensor operands
(numbers, arrays) become constants that take no gradient.
"""
from __future__ import annotations

from ..tensor import Tensor, as_tensor_like
from . import activations, elementwise, fused, linalg, reductions
from . import shape as shape_ops

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs",
    "maximum", "minimum", "where", "clip", "cast",
    "matmul",
    "sum", "mean",
    "reshape", "permute", "transpose", "flatten",
    "relu",
    "linear", "softmax_cross_entropy", "mse",
]


def _pair(a, b):
    """Both operands as Tensors; a number takes the dtype of the Tensor beside it."""
    if isinstance(a, Tensor):
        return a, as_tensor_like(b, a)
    if isinstance(b, Tensor):
        return as_tensor_like(a, b), b
    return Tensor(a), Tensor(b)


def add(a, b) -> Tensor:
    return elementwise.Add()(*_pair(a, b))


def sub(a, b) -> Tensor:
    return elementwise.Sub()(*_pair(a, b))


def mul(a, b) -> Tensor:
    return elementwise.Mul()(*_pair(a, b))


def div(a, b) -> Tensor:
    return elementwise.Div()(*_pair(a, b))


def neg(a: Tensor) -> Tensor:
    return elementwise.Neg()(a)


def pow(a, exponent) -> Tensor:  # noqa: A001 - the PyTorch name
    """a ** exponent; a Python number as exponent takes no gradient (cheaper)."""
    if isinstance(exponent, (int, float)) and isinstance(a, Tensor):
        return elementwise.PowScalar(exponent)(a)
    return elementwise.Pow()(*_pair(a, exponent))


def exp(a: Tensor) -> Tensor:
    return elementwise.Exp()(a)


def log(a: Tensor) -> Tensor:
    return elementwise.Log()(a)


def sqrt(a: Tensor) -> Tensor:
    return elementwise.Sqrt()(a)


def abs(a: Tensor) -> Tensor:  # noqa: A001 - the PyTorch name
    return elementwise.Abs()(a)


def maximum(a, b) -> Tensor:
    return elementwise.Maximum()(*_pair(a, b))


def minimum(a, b) -> Tensor:
    return elementwise.Minimum()(*_pair(a, b))


def where(condition, a, b) -> Tensor:
    """Elementwise ``a if condition else b``; the condition takes no gradient."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    a, b = _pair(a, b)
    return elementwise.Where()(Tensor(condition), a, b)


def clip(a: Tensor, low=None, high=None) -> Tensor:
    return elementwise.Clip(low, high)(a)


def cast(a: Tensor, dtype) -> Tensor:
    return elementwise.Cast(dtype)(a)


def matmul(a, b) -> Tensor:
    return linalg.MatMul()(*_pair(a, b))


def sum(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - the PyTorch name
    return reductions.Sum(axis, keepdims)(a)


def mean(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    return reductions.Mean(axis, keepdims)(a)


def reshape(a: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return shape_ops.Reshape(shape)(a)


def permute(a: Tensor, *axes) -> Tensor:
    """Reorder the axes; with no axes given, reverse them."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return shape_ops.Permute(axes or None)(a)


def transpose(a: Tensor, axis0: int = -2, axis1: int = -1) -> Tensor:
    """Swap two axes (the last two by default)."""
    axes = list(range(a.ndim))
    axes[axis0], axes[axis1] = axes[axis1], axes[axis0]
    return shape_ops.Permute(axes)(a)


def flatten(a: Tensor, start_axis: int = 0, end_axis: int = -1) -> Tensor:
    """Merge axes start_axis..end_axis (inclusive) into one."""
    dims = a.shape
    start, end = start_axis % max(a.ndim, 1), end_axis % max(a.ndim, 1)
    merged = 1
    for n in dims[start : end + 1]:
        merged *= n
    return shape_ops.Reshape(dims[:start] + (merged,) + dims[end + 1 :])(a)


def relu(a: Tensor) -> Tensor:
    return activations.ReLU()(a)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x·weightᵀ + bias. x: (..., D_in), weight: (D_out, D_in), bias: (D_out,) → (..., D_out)."""
    if bias is None:
        return fused.Linear()(x, weight)
    return fused.Linear()(x, weight, bias)


def softmax_cross_entropy(logits: Tensor, labels, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of softmax(logits) against integer labels. logits: (N, C), labels: (N,)."""
    labels = labels if isinstance(labels, Tensor) else Tensor(labels)
    return fused.SoftmaxCrossEntropy(reduction, label_smoothing)(logits, labels)


def mse(pred: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error between pred and target (same shape)."""
    return fused.MSE(reduction)(*_pair(pred, target))


