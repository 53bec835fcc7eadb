"""The ops as plain functions of Tensors: ``relu(x)``, ``linear(x, W, b)``, ...

Each builds a fresh Function (one graph node) and calls it. Non-Tensor operands
(numbers, arrays) become constants that take no gradient.
"""
from __future__ import annotations

import builtins

from .. import backend
from ..errors import ShapeError
from ..random import default_generator
from ..tensor import Tensor, as_tensor_like
from . import activations, elementwise, fused, linalg, reductions
from . import embedding as embedding_ops
from . import losses, normalization, regularization
from . import channel_dropout, conv, pooling
from . import shape as shape_ops
from .dtypes import floating, promoted

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs",
    "maximum", "minimum", "where", "clip", "cast",
    "matmul",
    "sum", "mean", "max", "min", "logsumexp", "var",
    "reshape", "permute", "transpose", "flatten",
    "broadcast_to", "getitem", "concatenate", "stack", "pad",
    "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softplus", "softmax", "log_softmax",
    "linear", "softmax_cross_entropy", "mse",
    "batch_norm", "layer_norm", "dropout", "embedding", "nll_loss", "binary_cross_entropy_with_logits",
    "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "dropout2d",
]


def _pair(a, b, true_division: bool = False):
    """Both operands as Tensors of one dtype by PyTorch's promotion rules (ops/dtypes.py):
    a number beside a floating Tensor takes its dtype, integers meeting floats become floats."""
    if isinstance(a, Tensor) and a.data.dtype.kind == "f":
        if not isinstance(b, Tensor):
            return a, as_tensor_like(b, a)
        if b.data.dtype == a.data.dtype:
            return a, b
    elif isinstance(b, Tensor) and b.data.dtype.kind == "f" and not isinstance(a, Tensor):
        return as_tensor_like(a, b), b
    return promoted(a, b, true_division=true_division)


def add(a, b) -> Tensor:
    return elementwise.Add()(*_pair(a, b))


def sub(a, b) -> Tensor:
    return elementwise.Sub()(*_pair(a, b))


def mul(a, b) -> Tensor:
    return elementwise.Mul()(*_pair(a, b))


def div(a, b) -> Tensor:
    """a / b, true division: integer operands give the default floating dtype, as in PyTorch."""
    return elementwise.Div()(*_pair(a, b, true_division=True))


def neg(a: Tensor) -> Tensor:
    return elementwise.Neg()(a)


def pow(a, exponent) -> Tensor:  # noqa: A001 - the PyTorch name
    """a ** exponent; a number as exponent takes no gradient (cheaper). An integer tensor to
    a floating number gives the default floating dtype, as in PyTorch."""
    if isinstance(exponent, (int, float)) and isinstance(a, Tensor):
        if a.data.dtype.kind in "biu" and (isinstance(exponent, float) or a.data.dtype.kind == "b"):
            a = promoted(a, exponent)[0]
        # .item() turns a NumPy scalar into a Python number, which cannot upcast float32.
        return elementwise.PowScalar(getattr(exponent, "item", lambda: exponent)())(a)
    return elementwise.Pow()(*_pair(a, exponent))


def exp(a: Tensor) -> Tensor:
    return elementwise.Exp()(floating(a))


def log(a: Tensor) -> Tensor:
    return elementwise.Log()(floating(a))


def sqrt(a: Tensor) -> Tensor:
    return elementwise.Sqrt()(floating(a))


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


def max(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - the NumPy name
    """Largest element over the axes; tied maxima share the gradient evenly (as torch.amax)."""
    return reductions.Max(axis, keepdims)(a)


def min(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - the NumPy name
    """Smallest element over the axes; tied minima share the gradient evenly (as torch.amin)."""
    return reductions.Min(axis, keepdims)(a)


def logsumexp(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """log Σ exp(a) over the axes, without overflow."""
    return reductions.LogSumExp(axis, keepdims)(floating(a))


def var(a: Tensor, axis=None, keepdims: bool = False, correction: float = 1) -> Tensor:
    """Variance over the axes, dividing by n − correction (1 by default, as torch.var;
    NumPy's default is 0)."""
    return reductions.Var(axis, keepdims, correction)(a)


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
    rank = builtins.max(a.ndim, 1)
    for name, axis in (("start_axis", start_axis), ("end_axis", end_axis)):
        if not -rank <= axis < rank:
            raise ShapeError(f"flatten: {name} {axis} is out of range for an input of shape {dims}")
    start, end = start_axis % rank, end_axis % rank
    if start > end:
        raise ShapeError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis} for an input of shape {dims}")
    merged = 1
    for n in dims[start : end + 1]:
        merged *= n
    return shape_ops.Reshape(dims[:start] + (merged,) + dims[end + 1 :])(a)


def broadcast_to(a: Tensor, shape) -> Tensor:
    """a repeated along new or size-1 axes to ``shape`` (NumPy broadcasting rules)."""
    return shape_ops.BroadcastTo(shape)(a)


def getitem(a: Tensor, index) -> Tensor:
    """a[index] with NumPy semantics: ints, slices, None, Ellipsis, integer arrays
    (repeats accumulate in the gradient), boolean masks; Tensors act as arrays."""
    return shape_ops.GetItem(index)(a)


def _alike(tensors) -> list:
    """The operands as Tensors; arrays and numbers take the dtype of the first Tensor."""
    tensors = list(tensors)
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    return [t if isinstance(t, Tensor) or like is None else as_tensor_like(t, like) for t in tensors]


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join a sequence of tensors along an existing axis."""
    return shape_ops.Concatenate(axis)(*_alike(tensors))


def stack(tensors, axis: int = 0) -> Tensor:
    """Join a sequence of same-shaped tensors along a new axis."""
    return shape_ops.Stack(axis)(*_alike(tensors))


def pad(a: Tensor, pad_width, value: float = 0.0) -> Tensor:
    """Surround a with ``value``; ``pad_width`` has **NumPy's meaning** (numpy.pad), not
    ``torch.nn.functional.pad``'s: an int or one (before, after) pair pads *every* axis, or
    one pair per axis, first axis first. So ``pad(x, (1, 1))`` pads all axes of x, where
    PyTorch's ``F.pad(x, (1, 1))`` pads only the last."""
    return shape_ops.Pad(pad_width, value)(a)


def relu(a: Tensor) -> Tensor:
    return activations.ReLU()(a)


def leaky_relu(a: Tensor, negative_slope: float = 0.01) -> Tensor:
    return activations.LeakyReLU(negative_slope)(a)


def sigmoid(a: Tensor) -> Tensor:
    return activations.Sigmoid()(floating(a))


def tanh(a: Tensor) -> Tensor:
    return activations.Tanh()(floating(a))


def gelu(a: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x); approximate="tanh" for the tanh formula (as PyTorch)."""
    return activations.GELU(approximate)(floating(a))


def softplus(a: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(βa))/β, and a itself where βa > threshold (as PyTorch)."""
    return activations.Softplus(beta, threshold)(floating(a))


def softmax(a: Tensor, axis: int = -1) -> Tensor:
    return activations.Softmax(axis)(floating(a))


def log_softmax(a: Tensor, axis: int = -1) -> Tensor:
    return activations.LogSoftmax(axis)(floating(a))


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


def _affine(x: Tensor, weight, bias) -> tuple:
    """The (weight, bias) inputs of a normalisation op: none, weight alone, or both
    (a bias without a weight gets a constant weight of ones)."""
    if weight is None and bias is None:
        return ()
    if weight is None:
        weight = Tensor(backend.xp.ones(bias.shape, dtype=x.dtype))
    return (weight,) if bias is None else (weight, bias)


def _array(value):
    return value.data if isinstance(value, Tensor) else value


def batch_norm(x: Tensor, running_mean=None, running_var=None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch norm over every axis but axis 1. x: (N, C, *), weight/bias/running stats: (C,).

    training=True uses the batch statistics and updates ``running_mean`` and
    ``running_var`` (Tensors or arrays) in place; training=False uses them.
    """
    op = normalization.BatchNorm(_array(running_mean), _array(running_var), training, momentum, eps)
    return op(x, *_affine(x, weight, bias))


def layer_norm(x: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Layer norm over the last axes. x: (*, *normalized_shape), weight/bias: normalized_shape."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    return normalization.LayerNorm(normalized_shape, eps)(x, *_affine(x, weight, bias))


def dropout(x: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Inverted dropout; the identity when not training or p = 0. The mask is drawn
    from ``generator`` (a numpy.random.Generator), else chainrule's default one."""
    function = dropout_function(p, training, generator)
    return x if function is None else function(x)


def dropout_function(p: float, training: bool, generator=None) -> regularization.Dropout | None:
    """The Function that ``dropout`` applies, or None when it is the identity."""
    if not training or p == 0:
        return None
    return regularization.Dropout(p, generator or default_generator())


def embedding(indices, weight: Tensor) -> Tensor:
    """Rows of weight (V, D) at integer indices I → (*I, D)."""
    indices = indices if isinstance(indices, Tensor) else Tensor(indices)
    return embedding_ops.Embedding()(indices, weight)


def nll_loss(log_probs: Tensor, labels, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood. log_probs: (N, C), labels: (N,) integers in [0, C)."""
    labels = labels if isinstance(labels, Tensor) else Tensor(labels)
    return losses.NLLLoss(reduction)(log_probs, labels)


def binary_cross_entropy_with_logits(logits: Tensor, targets, reduction: str = "mean") -> Tensor:
    """Stable binary cross-entropy of sigmoid(logits) against targets in [0, 1] (same shape).

    Targets given as arrays or numbers take the dtype of the logits."""
    if not isinstance(targets, Tensor):
        targets = Tensor(backend.xp.asarray(targets, dtype=logits.dtype))
    return losses.BinaryCrossEntropyWithLogits(reduction)(logits, targets)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D convolution as PyTorch's. x: (N, C_in, H, W), weight: (C_out, C_in/groups, kH, kW),
    bias: (C_out,) → (N, C_out, H_out, W_out). stride, padding, dilation: an int or (h, w)."""
    op = conv.Conv2d(stride, padding, dilation, groups)
    return op(x, weight) if bias is None else op(x, weight, bias)


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Max over kernel_size windows (stride defaults to kernel_size). x: (N, C, H, W)."""
    return pooling.MaxPool2d(kernel_size, stride, padding)(x)


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0, count_include_pad: bool = True) -> Tensor:
    """Mean over kernel_size windows (stride defaults to kernel_size). x: (N, C, H, W)."""
    return pooling.AvgPool2d(kernel_size, stride, padding, count_include_pad)(x)


def adaptive_avg_pool2d(x: Tensor, output_size=1) -> Tensor:
    """Global average pooling, (N, C, H, W) → (N, C, 1, 1); only output_size=1 is supported."""
    return pooling.AdaptiveAvgPool2d(output_size)(x)


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Channel dropout on (N, C, H, W); the identity when not training or p = 0. The mask
    is drawn from ``generator`` (a numpy.random.Generator), else chainrule's default one."""
    if not training or p == 0:
        return x
    return channel_dropout.Dropout2d(p, generator or default_generator())(x)
