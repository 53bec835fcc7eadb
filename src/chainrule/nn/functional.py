"""``import chainrule.nn.functional as F``: the functional forms of the layers, activations and
losses under PyTorch's names and signatures, each a call into the ops of ``chainrule.ops``.

Arguments PyTorch has and chainrule does not support yet (a class ``weight``, ``ignore_index``,
``dilation`` of a pooling window, ...) raise a TypeError that names them when they are given
anything but their default, rather than being ignored.
"""
from __future__ import annotations

from .. import backend
from ..ops import functional as ops
from ..ops import losses
from ..tensor import Tensor

relu = ops.relu
leaky_relu = ops.leaky_relu
sigmoid = ops.sigmoid
tanh = ops.tanh
gelu = ops.gelu
softplus = ops.softplus
silu = ops.silu
elu = ops.elu
mish = ops.mish
hardswish = ops.hardswish
hardtanh = ops.hardtanh
linear = ops.linear
conv1d = ops.conv1d
conv2d = ops.conv2d
conv_transpose2d = ops.conv_transpose2d
max_pool1d = ops.max_pool1d
avg_pool1d = ops.avg_pool1d
interpolate = ops.interpolate
scaled_dot_product_attention = ops.scaled_dot_product_attention
group_norm = ops.group_norm
instance_norm = ops.instance_norm
avg_pool2d = ops.avg_pool2d
adaptive_avg_pool2d = ops.adaptive_avg_pool2d
dropout = ops.dropout
dropout2d = ops.dropout2d
batch_norm = ops.batch_norm
layer_norm = ops.layer_norm
embedding = ops.embedding


def _unsupported(function: str, **given) -> None:
    """TypeError naming each argument that was given something other than PyTorch's default."""
    named = [f"{name}={value!r}" for name, (value, default) in given.items() if value != default]
    if named:
        raise TypeError(f"F.{function}: {', '.join(named)} is not supported by chainrule yet")


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    return ops.softmax(input, dim=-1 if dim is None else dim)


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    return ops.log_softmax(input, dim=-1 if dim is None else dim)


def cross_entropy(input: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of softmax(input) (N, C) against integer class labels (N,) or probabilities
    (N, C), with class ``weight``, ``ignore_index`` and ``label_smoothing``, as PyTorch."""
    return losses.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)


def nll_loss(input: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    return ops.nll_loss(input, target, reduction=reduction, weight=weight, ignore_index=ignore_index)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    return ops.l1_loss(input, target, reduction=reduction)


def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    return ops.smooth_l1_loss(input, target, reduction=reduction, beta=beta)


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    return ops.huber_loss(input, target, reduction=reduction, delta=delta)


def binary_cross_entropy(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    _unsupported("binary_cross_entropy", weight=(weight, None))
    return ops.binary_cross_entropy(input, target, reduction=reduction)


def kl_div(input: Tensor, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    return ops.kl_div(input, target, reduction=reduction, log_target=log_target)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target, margin: float = 0.0, reduction: str = "mean") -> Tensor:
    return ops.cosine_embedding_loss(input1, input2, target, margin=margin, reduction=reduction)


def pad(input: Tensor, pad: tuple, mode: str = "constant", value: float = 0.0) -> Tensor:
    """PyTorch's ``F.pad``: ``pad`` holds (before, after) pairs for the last axes, the last axis
    first (so ``(1, 1)`` pads the last axis, ``(1, 1, 2, 2)`` the last two); constant mode only."""
    _unsupported("pad", mode=(mode, "constant"))
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"F.pad: pad must hold (before, after) pairs for at most {input.ndim} axes, got {pad}")
    pairs = [(0, 0)] * (input.ndim - len(pad) // 2) + [(pad[i], pad[i + 1]) for i in range(len(pad) - 2, -1, -2)]
    return ops.pad(input, pairs, value)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """input / max(‖input‖_p along dim, eps), as PyTorch."""
    if p == 2:
        norm = (input * input).sum(dim, keepdims=True).sqrt()
    else:
        norm = (abs(input) ** p).sum(dim, keepdims=True) ** (1.0 / p)
    return input / ops.clamp(norm, min=eps)


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    return ops.mse(input, target, reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    _unsupported("binary_cross_entropy_with_logits", weight=(weight, None), pos_weight=(pos_weight, None))
    return ops.binary_cross_entropy_with_logits(input, target, reduction=reduction)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    _unsupported("max_pool2d", dilation=(dilation, 1), ceil_mode=(ceil_mode, False),
                 return_indices=(return_indices, False))
    return ops.max_pool2d(input, kernel_size, stride, padding)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Integer labels as rows of 0s and a 1 (int64; no gradient), ``num_classes`` wide (by default
    one more than the largest label)."""
    labels = tensor.data if isinstance(tensor, Tensor) else backend.xp.asarray(tensor)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"F.one_hot: expects integer labels, got dtype {labels.dtype}")
    xp = backend.array_module(labels)
    classes = int(labels.max()) + 1 if num_classes == -1 and labels.size else max(num_classes, 0)
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        raise ValueError(f"F.one_hot: labels must be in [0, {classes}), got {int(labels.min())} … {int(labels.max())}")
    return Tensor((labels[..., None] == xp.arange(classes)).astype(xp.int64))
