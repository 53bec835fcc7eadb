"""Losses, each one Function with one hand-derived backward: cross-entropy on logits (the
fast path for plain labels, and the full form with probability targets, class weights,
ignore_index and label smoothing), negative log-likelihood, binary cross-entropy on logits
and on probabilities, mean squared error, L1, Huber and smooth L1, and KL divergence.

Each reduces the per-element losses L_i by ``reduction``: "mean" (the default),
"sum", or "none" (no reduction); the formula ``cr.explain`` shows says which.
"""
from __future__ import annotations

import numpy

from .. import kernels
from ..backend import array_module
from ..errors import ShapeError
from ..tensor import Function, Tensor
from .activations import LogSoftmax, Softmax, sigmoid
from .dtypes import check_same_dtype, operands
from .elementwise import Clip, exp, log, maximum, where
from .labels import check_class_labels
from .registry import public, register

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(op: str, reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _reduce(loss, reduction: str, divisor=None):
    """The mean ("mean": over every element, or Σ loss / ``divisor`` when given), the sum ("sum"),
    or loss itself ("none"), on arrays or Tensors."""
    if reduction == "mean":
        return loss.mean() if divisor is None else loss.sum() / divisor
    if reduction == "sum":
        return loss.sum()
    return loss


def _upstream_scale(dy, reduction: str, count: int):
    """dL/dL_i for each per-element loss L_i: dy, or dy/count under the mean."""
    if reduction == "mean" and count:
        return dy / count
    return dy


def _scaled(reduction: str, count: str) -> str:
    """How dy reaches each element's loss in a formula: ``dy / N``, ``dy`` or ``dyᵢ``."""
    return {"mean": f"dy / {count}", "sum": "dy", "none": "dyᵢ"}[reduction]


def _as_labels(labels) -> Tensor:
    return labels if isinstance(labels, Tensor) else Tensor(labels)


@register("softmax_cross_entropy")
class SoftmaxCrossEntropy(Function):
    """Cross-entropy of softmax(logits) against integer class labels.

    logits: (N, C) floating, labels: (N,) integers in [0, C) → loss: () for
    reduction "mean"/"sum", (N,) for "none". With ``label_smoothing`` ε the target
    distribution is q = (1 − ε)·onehot + ε/C, as in PyTorch. A label equal to a negative
    ``ignore_index`` (PyTorch's −100 by default) counts for nothing, and "mean" divides by the
    labels kept; the compiled kernel refuses such a label, so finding it costs nothing until one is there.
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0, ignore_index: int = -100):
        self.reduction = check_reduction("softmax_cross_entropy", reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"softmax_cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
        if ignore_index >= 0:
            raise ValueError(f"softmax_cross_entropy: ignore_index must be negative (a class index to ignore takes "
                             f"cross_entropy), got {ignore_index}")
        self.smoothing, self.ignore_index = float(label_smoothing), ignore_index

    saved_names = ("p", "labels", "kept")

    def forward(self, logits, labels):
        if logits.ndim != 2 or labels.shape != logits.shape[:1]:
            raise ShapeError(
                f"softmax_cross_entropy: expected logits (N, C) and labels (N,), got {logits.shape} and {labels.shape}"
            )
        fast = kernels.cross_entropy(logits, labels, self.smoothing, self.reduction)
        if fast is not None:
            p, loss = fast
            self.save_for_backward(p, labels, None)
            return loss
        xp = array_module(logits)
        n, c = logits.shape
        ignored = labels == self.ignore_index
        kept = ~ignored if bool(ignored.any()) else None
        if kept is not None:
            labels = xp.where(kept, labels, 0)
        check_class_labels("softmax_cross_entropy", labels, c)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_p[xp.arange(n), labels]
        if self.smoothing:
            loss = (1.0 - self.smoothing) * loss - self.smoothing * log_p.mean(axis=1)
        self.save_for_backward(xp.exp(log_p, out=log_p), labels, kept)
        if kept is not None:
            loss = loss * kept
            n = float(kept.sum())  # the mean over the labels kept (0/0 = nan when none is, as PyTorch)
        if self.reduction == "mean":
            # sum / n is what mean() computes, without its Python-level wrapper (a third of this op at batch 1)
            return loss.sum() / n if n else loss.sum() / loss.dtype.type(n)
        if self.reduction == "sum":
            return loss.sum()
        return loss

    @property
    def formula(self) -> str:
        scale = _scaled(self.reduction, "N")
        eps = self.smoothing
        if not eps:
            return f"L = −log softmax(logits)[labels] ⇒ dlogits = (softmax(logits) − onehot(labels))·{scale}"
        return (f"L = −Σ_c q_c·log softmax(logits)_c, q = {1 - eps:g}·onehot(labels) + {eps:g}/C "
                f"⇒ dlogits = (softmax(logits) − q)·{scale}")

    def backward(self, dy):
        p, labels, kept = self.saved_tensors
        n, c = p.shape
        divisor = (n if kept is None else float(kept.sum())) if self.reduction == "mean" else 0
        if kept is None:
            dz = kernels.cross_entropy_backward(p, labels, self.smoothing, dy, divisor)
            if dz is not None:
                return dz, None
        dz = p.copy()
        dz[array_module(p).arange(n), labels] -= 1.0 - self.smoothing
        if self.smoothing:
            dz -= self.smoothing / c
        if kept is not None:
            dz *= kept[:, None]
        if self.reduction == "none":
            dz *= dy[:, None]
        else:
            dz *= dy / divisor if divisor else dy
        return dz, None

    def backward_graph(self, dy):
        (logits, _), (_, labels, kept) = self.inputs, self.saved_tensors
        n, c = logits.shape
        xp = array_module(logits.data)
        target = xp.full((n, c), self.smoothing / c, dtype=logits.dtype)
        target[xp.arange(n), labels] += 1.0 - self.smoothing
        count = n
        if kept is not None:
            target *= kept[:, None]
            count = float(kept.sum())
        scale = dy.unsqueeze(1) if self.reduction == "none" else _upstream_scale(dy, self.reduction, count)
        rows = Softmax(1)(logits) - Tensor(target)
        return (rows if kept is None else rows * Tensor(kept[:, None].astype(logits.dtype))) * scale, None


@public()
def softmax_cross_entropy(logits: Tensor, labels, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of softmax(logits) against integer labels. logits: (N, C), labels: (N,)."""
    return SoftmaxCrossEntropy(reduction, label_smoothing)(logits, _as_labels(labels))


@register("nll_loss")
class NLLLoss(Function):
    """Negative log-likelihood of integer labels under given log-probabilities.

    log_probs: (N, C) floating, labels: (N,) integers in [0, C) → loss: () for
    reduction "mean"/"sum", (N,) for "none". L_i = −w[labels_i]·log_probs[i, labels_i], 0 for a
    label equal to ``ignore_index``; "mean" divides by Σ w[labels_i] over the labels kept (their
    count without ``weight``), as PyTorch.
    """

    def __init__(self, reduction: str = "mean", weight=None, ignore_index: int = -100):
        self.reduction = check_reduction("nll_loss", reduction)
        self.weight, self.ignore_index = weight, ignore_index

    saved_names = ("labels", "coefficients")

    def forward(self, log_probs, labels):
        if log_probs.ndim != 2 or labels.shape != log_probs.shape[:1]:
            raise ShapeError(
                f"nll_loss: expected log_probs (N, C) and labels (N,), got {log_probs.shape} and {labels.shape}"
            )
        xp = array_module(log_probs)
        n, c = log_probs.shape
        kept = labels != self.ignore_index
        check_class_labels("nll_loss", labels[kept], c)
        labels = xp.where(kept, labels, 0)
        coefficients = kept.astype(log_probs.dtype)
        if self.weight is not None:
            coefficients *= xp.asarray(self.weight, dtype=log_probs.dtype)[labels]
        self.shape, self.dtype = log_probs.shape, log_probs.dtype
        self.divisor = float(coefficients.sum())
        self.save_for_backward(labels, coefficients)
        loss = -log_probs[xp.arange(n), labels] * coefficients
        return _reduce(loss, self.reduction, self.divisor)

    @property
    def formula(self) -> str:
        scale = {"mean": "dy / Σw", "sum": "dy", "none": "dyᵢ"}[self.reduction]
        return f"L = −w[labels]·log_probs[labels] ⇒ dlog_probs = −w[labels]·onehot(labels)·{scale}"

    def _scaled(self, dy, coefficients):
        if self.reduction == "none":
            return dy * coefficients
        return coefficients * (dy / self.divisor if self.reduction == "mean" else dy)

    def backward(self, dy):
        labels, coefficients = self.saved_tensors
        xp = array_module(dy)
        dp = xp.zeros(self.shape, dtype=self.dtype)
        dp[xp.arange(self.shape[0]), labels] = -self._scaled(dy, coefficients)
        return dp, None

    def backward_graph(self, dy):
        labels, coefficients = self.saved_tensors
        xp = array_module(dy.data)
        onehot = xp.zeros(self.shape, dtype=self.dtype)
        onehot[xp.arange(self.shape[0]), labels] = -1.0
        return Tensor(onehot) * self._scaled(dy, Tensor(coefficients)).reshape(-1, 1), None


@public()
def nll_loss(log_probs: Tensor, labels, reduction: str = "mean", weight=None, ignore_index: int = -100) -> Tensor:
    """Negative log-likelihood. log_probs: (N, C), labels: (N,) integers in [0, C) (or ignore_index);
    ``weight``: (C,) class weights."""
    return NLLLoss(reduction, weight.data if isinstance(weight, Tensor) else weight, ignore_index)(
        log_probs, _as_labels(labels))


@register("binary_cross_entropy_with_logits")
class BinaryCrossEntropyWithLogits(Function):
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed stably.

    logits: S, targets: S (floating) → loss: () for "mean"/"sum", S for "none".
    L = −t·log σ(z) − (1 − t)·log(1 − σ(z)) = max(z, 0) − z·t + log(1 + e^(−|z|)),
    which never exponentiates a large positive number.
    """

    def __init__(self, reduction: str = "mean"):
        self.reduction = check_reduction("binary_cross_entropy_with_logits", reduction)

    saved_names = ("logits", "targets", "sigmoid")

    def forward(self, logits, targets):
        xp = array_module(logits)
        if logits.shape != targets.shape:
            raise ShapeError(
                "binary_cross_entropy_with_logits: logits and targets must have the same shape, "
                f"got {logits.shape} and {targets.shape}"
            )
        if targets.dtype.kind != "f":
            raise TypeError(
                f"binary_cross_entropy_with_logits: targets must be floating (probabilities), got dtype {targets.dtype}"
            )
        if targets.dtype != logits.dtype:
            raise TypeError(
                "binary_cross_entropy_with_logits: logits and targets must have the same dtype, "
                f"got {logits.dtype} and {targets.dtype}"
            )
        e = xp.exp(-xp.abs(logits))
        loss = xp.maximum(logits, 0) - logits * targets + xp.log1p(e)
        # σ(z) from the same e = e^(−|z|): 1/(1+e) for z ≥ 0, e/(1+e) for z < 0
        self.save_for_backward(logits, targets, xp.where(logits >= 0, 1, e) / (1 + e))
        return _reduce(loss, self.reduction)

    @property
    def formula(self) -> str:
        scale = _scaled(self.reduction, "n")
        return (f"L = max(z, 0) − z·t + log(1 + e^(−|z|)) ⇒ dlogits = (σ(logits) − targets)·{scale}, "
                f"dtargets = −logits·{scale}")

    def backward(self, dy):
        logits, targets, sigmoid = self.saved_tensors
        scale = _upstream_scale(dy, self.reduction, logits.size)
        dz = (sigmoid - targets) * scale if self.needs_input_grad[0] else None
        dt = -logits * scale if self.needs_input_grad[1] else None
        return dz, dt

    def backward_graph(self, dy):
        logits, targets = self.inputs
        scale = _upstream_scale(dy, self.reduction, logits.size)
        dz = (sigmoid(logits) - targets) * scale if self.needs_input_grad[0] else None
        dt = -logits * scale if self.needs_input_grad[1] else None
        return dz, dt


@public()
def binary_cross_entropy_with_logits(logits: Tensor, targets, reduction: str = "mean") -> Tensor:
    """Stable binary cross-entropy of sigmoid(logits) against targets in [0, 1] (same shape).

    Targets given as arrays or numbers take the dtype of the logits."""
    if not isinstance(targets, Tensor):
        targets = Tensor(array_module(logits.data).asarray(targets, dtype=logits.dtype))
    return BinaryCrossEntropyWithLogits(reduction)(logits, targets)


@register("mse")
class MSE(Function):
    """Mean squared error. pred: S, target: S → () for "mean"/"sum", S for "none"."""

    def __init__(self, reduction: str = "mean"):
        self.reduction = check_reduction("mse", reduction)

    saved_names = ("diff",)

    def forward(self, pred, target):
        if pred.shape != target.shape:
            raise ShapeError(f"mse: pred and target must have the same shape, got {pred.shape} and {target.shape}")
        check_same_dtype("mse", pred, target)
        diff = pred - target
        self.save_for_backward(diff)
        return _reduce(diff * diff, self.reduction)

    @property
    def formula(self) -> str:
        scale = _scaled(self.reduction, "n")
        return (f"L = (pred − target)² ⇒ dpred = 2(pred − target)·{scale}, "
                f"dtarget = −2(pred − target)·{scale}")

    def backward(self, dy):
        (diff,) = self.saved_tensors
        scale = 2.0 / diff.size if self.reduction == "mean" and diff.size else 2.0
        dpred = diff * (dy * scale)
        return dpred, -dpred

    def backward_graph(self, dy):
        pred, target = self.inputs
        scale = 2.0 / pred.size if self.reduction == "mean" and pred.size else 2.0
        dpred = (pred - target) * (dy * scale)
        return dpred, -dpred


@public()
def mse(pred: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error between pred and target (same shape)."""
    return MSE(reduction)(*operands(pred, target))


@register("cross_entropy")
class CrossEntropy(Function):
    """Cross-entropy of softmax(logits) in full: class labels or probability targets, class
    ``weight``, ``ignore_index`` and ``label_smoothing`` together (PyTorch's ``F.cross_entropy``;
    plain labels take the one-op fast path, ``softmax_cross_entropy``).

    logits: (N, C); target: (N,) integer labels, or (N, C) probabilities → () or (N,).
    With t the target distribution (the label's one-hot, or the given row; mixed with the uniform
    one by ε; all zero for an ignored label), L_i = −Σ_c w_c·t_ic·log softmax(logits)_ic, and
    "mean" divides the sum by Σ_i w[label_i] over the labels kept (by N for probabilities).
    """

    def __init__(self, reduction: str = "mean", weight=None, ignore_index: int = -100, label_smoothing: float = 0.0):
        self.reduction = check_reduction("cross_entropy", reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.weight, self.ignore_index, self.smoothing = weight, ignore_index, float(label_smoothing)

    saved_names = ("log_p", "distribution")

    def forward(self, logits, target):
        if logits.ndim != 2 or target.shape not in (logits.shape[:1], logits.shape):
            raise ShapeError(f"cross_entropy: expected logits (N, C) and target (N,) or (N, C), got {logits.shape} "
                             f"and {target.shape}")
        xp = array_module(logits)
        n, c = logits.shape
        weight = None if self.weight is None else xp.asarray(self.weight, dtype=logits.dtype)
        if weight is not None and weight.shape != (c,):
            raise ShapeError(f"cross_entropy: expected weight ({c},) for {c} classes, got {weight.shape}")
        eps = self.smoothing
        if target.shape == logits.shape:  # probabilities (labels of a float dtype are refused below)
            check_same_dtype("cross_entropy", logits, target)
            distribution = target * (1.0 - eps) + eps / c if eps else target
            self.divisor = n
        else:
            kept = target != self.ignore_index
            check_class_labels("cross_entropy", target[kept], c)
            distribution = xp.zeros((n, c), dtype=logits.dtype)
            distribution[xp.arange(n)[kept], target[kept]] = 1.0 - eps
            distribution += (eps / c) * kept[:, None]
            # a Python float: a NumPy scalar would turn a float32 loss into float64 (NEP 50)
            self.divisor = float(kept.sum() if weight is None else weight[target[kept]].sum())
        shifted = logits - logits.max(axis=1, keepdims=True) if logits.size else logits
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        weighted = distribution if weight is None else distribution * weight
        self.save_for_backward(log_p, distribution)
        return _reduce(-(weighted * log_p).sum(axis=1), self.reduction, self.divisor)

    @property
    def formula(self) -> str:
        scale = {"mean": "dy / Σw", "sum": "dy", "none": "dyᵢ"}[self.reduction]
        return (f"L = −Σ_c w_c·t_c·log p_c, p = softmax(logits), t the target distribution "
                f"⇒ dlogits = (Σ_c w_c·t_c·p − w·t)·{scale}, dtarget = −(1 − ε)·w·log p·{scale}")

    def _scale(self, dy):
        if self.reduction == "none":
            return dy.reshape(-1, 1)
        return dy / self.divisor if self.reduction == "mean" else dy

    def backward(self, dy):
        log_p, distribution = self.saved_tensors
        xp = array_module(log_p)
        weight = None if self.weight is None else xp.asarray(self.weight, dtype=log_p.dtype)
        weighted = distribution if weight is None else distribution * weight
        scale = self._scale(dy)
        d_logits = (weighted.sum(axis=1, keepdims=True) * xp.exp(log_p) - weighted) * scale
        d_target = None
        if self.needs_input_grad[1]:
            d_target = -(log_p if weight is None else log_p * weight) * (scale * (1.0 - self.smoothing))
        return d_logits, d_target

    def backward_graph(self, dy):
        logits, target = self.inputs
        (_, distribution), c = self.saved_tensors, logits.shape[1]
        if target.shape == logits.shape:  # the distribution depends on the target: on the graph
            distribution = target * (1.0 - self.smoothing) + self.smoothing / c if self.smoothing else target
        else:
            distribution = Tensor(distribution)
        weight = None if self.weight is None else Tensor(array_module(logits.data).asarray(self.weight, dtype=logits.dtype))
        weighted = distribution if weight is None else distribution * weight
        scale = self._scale(dy)
        d_logits = (weighted.sum(1, keepdims=True) * Softmax(1)(logits) - weighted) * scale
        d_target = None
        if self.needs_input_grad[1]:
            log_p = LogSoftmax(1)(logits)
            d_target = -(log_p if weight is None else log_p * weight) * (scale * (1.0 - self.smoothing))
        return d_logits, d_target


def cross_entropy(logits: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """PyTorch's ``F.cross_entropy`` for (N, C) logits: the fast one-op path for plain integer
    labels, :class:`CrossEntropy` for the rest."""
    target = _as_labels(target)
    return cross_entropy_function(target, weight, ignore_index, reduction, label_smoothing)(logits, target)


def cross_entropy_function(target: Tensor, weight=None, ignore_index: int = -100, reduction: str = "mean",
                           label_smoothing: float = 0.0) -> Function:
    """The op ``cross_entropy`` applies for these arguments (``nn.CrossEntropyLoss`` fuses it): the
    fast one for class labels without weights and a negative ignore_index (PyTorch's default),
    without looking at the labels."""
    if weight is None and target.dtype.kind in "iu" and ignore_index < 0:
        return SoftmaxCrossEntropy(reduction, label_smoothing, ignore_index)
    return CrossEntropy(reduction, weight.data if isinstance(weight, Tensor) else weight, ignore_index, label_smoothing)


class _ElementwiseLoss(Function):
    """A loss of (pred, target) pairs of one shape, reduced by ``reduction`` (mean over every element)."""

    def __init__(self, reduction: str = "mean"):
        self.reduction = check_reduction(self.op_name, reduction)

    def _check(self, pred, target) -> None:
        if pred.shape != target.shape:
            raise ShapeError(f"{self.op_name}: pred and target must have the same shape, got {pred.shape} "
                             f"and {target.shape}")
        check_same_dtype(self.op_name, pred, target)
        self.size = pred.size

    def _scale(self, dy):
        return dy / self.size if self.reduction == "mean" and self.size else dy

    def _scale_text(self) -> str:
        return _scaled(self.reduction, "n")


@register("l1_loss")
class L1Loss(_ElementwiseLoss):
    saved_names = ("sign",)

    def forward(self, pred, target):
        self._check(pred, target)
        diff = pred - target
        self.save_for_backward(array_module(diff).sign(diff))
        return _reduce(array_module(diff).abs(diff), self.reduction)

    @property
    def formula(self) -> str:
        scale = self._scale_text()
        return f"L = |pred − target| ⇒ dpred = sign(pred − target)·{scale}, dtarget = −sign(pred − target)·{scale}"

    def backward(self, dy):
        (sign,) = self.saved_tensors
        dpred = sign * self._scale(dy)
        return dpred, -dpred

    def backward_graph(self, dy):
        (sign,) = self.saved_tensors
        dpred = Tensor(sign) * self._scale(dy)
        return dpred, -dpred


@public()
def l1_loss(pred: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error between pred and target (same shape)."""
    return L1Loss(reduction)(*operands(pred, target))


@register("huber_loss")
class HuberLoss(_ElementwiseLoss):
    """L = ½d² where |d| < δ, δ·(|d| − ½δ) elsewhere, d = pred − target, times ``scale`` (1/β
    makes it PyTorch's smooth_l1_loss with β = δ)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0, scale: float = 1.0):
        super().__init__(reduction)
        if delta <= 0:
            raise ValueError(f"huber_loss: delta must be positive, got {delta}")
        self.delta, self.factor = float(delta), float(scale)

    saved_names = ("diff",)

    def forward(self, pred, target):
        self._check(pred, target)
        xp = array_module(pred)
        d = pred - target
        magnitude = xp.abs(d)
        loss = xp.where(magnitude < self.delta, 0.5 * d * d, self.delta * (magnitude - 0.5 * self.delta))
        self.save_for_backward(d)
        return _reduce(loss * self.factor if self.factor != 1.0 else loss, self.reduction)

    @property
    def formula(self) -> str:
        scale = self._scale_text()
        return (f"L = ½d² (|d| < {self.delta:g}) or {self.delta:g}·(|d| − ½·{self.delta:g}), d = pred − target "
                f"⇒ dpred = clip(d, ±{self.delta:g})·{scale}, dtarget = −dpred")

    def backward(self, dy):
        (d,) = self.saved_tensors
        dpred = array_module(d).clip(d, -self.delta, self.delta) * (self._scale(dy) * self.factor)
        return dpred, -dpred

    def backward_graph(self, dy):
        pred, target = self.inputs
        dpred = Clip(-self.delta, self.delta)(pred - target) * (self._scale(dy) * self.factor)
        return dpred, -dpred


@public()
def huber_loss(pred: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    return HuberLoss(reduction, delta)(*operands(pred, target))


@public()
def smooth_l1_loss(pred: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """PyTorch's smooth L1: ½d²/β where |d| < β, |d| − ½β elsewhere (the L1 loss for β = 0)."""
    if beta == 0:
        return l1_loss(pred, target, reduction)
    return HuberLoss(reduction, beta, 1.0 / beta)(*operands(pred, target))


_LOG_FLOOR = -100.0
"""PyTorch's binary_cross_entropy clamps each log at −100, so that p = 0 or 1 gives a finite loss."""


@register("binary_cross_entropy")
class BinaryCrossEntropy(_ElementwiseLoss):
    """Binary cross-entropy of probabilities p against targets t in [0, 1], each log clamped at −100
    as in PyTorch. L = −(t·log p + (1 − t)·log(1 − p))."""

    saved_names = ("p", "t")

    def forward(self, p, t):
        self._check(p, t)
        xp = array_module(p)
        if p.size and (p.min() < 0 or p.max() > 1):
            raise ValueError("binary_cross_entropy: the input must hold probabilities in [0, 1] (use "
                             "binary_cross_entropy_with_logits for logits)")
        with numpy.errstate(divide="ignore"):
            log_p, log_q = xp.maximum(xp.log(p), _LOG_FLOOR), xp.maximum(xp.log1p(-p), _LOG_FLOOR)
        self.save_for_backward(p, t)
        return _reduce(-(t * log_p + (1.0 - t) * log_q), self.reduction)

    @property
    def formula(self) -> str:
        scale = self._scale_text()
        return (f"L = −(t·log p + (1 − t)·log(1 − p)) ⇒ dp = (p − t)/(p(1 − p))·{scale}, "
                f"dt = (log(1 − p) − log p)·{scale}")

    def backward(self, dy):
        # PyTorch's guard: the denominator at least 1e-12, so p = 0 or 1 gives a finite gradient
        p, t = self.saved_tensors
        xp = array_module(p)
        scale = self._scale(dy)
        dp = (p - t) / xp.maximum(p * (1.0 - p), 1e-12) * scale if self.needs_input_grad[0] else None
        dt = None
        if self.needs_input_grad[1]:
            with numpy.errstate(divide="ignore"):
                dt = (xp.maximum(xp.log1p(-p), _LOG_FLOOR) - xp.maximum(xp.log(p), _LOG_FLOOR)) * scale
        return dp, dt

    def backward_graph(self, dy):
        p, t = self.inputs
        scale = self._scale(dy)
        dp = (p - t) / maximum(p * (1.0 - p), 1e-12) * scale if self.needs_input_grad[0] else None
        dt = (log(1.0 - p) - log(p)) * scale if self.needs_input_grad[1] else None
        return dp, dt


@public()
def binary_cross_entropy(p: Tensor, target, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities (e.g. after sigmoid) against targets in [0, 1]; prefer
    binary_cross_entropy_with_logits on logits, which is stable."""
    return BinaryCrossEntropy(reduction)(*operands(p, target))


@register("kl_div")
class KLDiv(_ElementwiseLoss):
    """PyTorch's kl_div: L = t·(log t − input) with input = log q, 0 where t = 0 (or, with
    ``log_target``, L = eᵗ·(t − input)). Reductions "mean" (over elements), "batchmean" (over
    the first axis: the true KL divergence per sample), "sum", "none"."""

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        if reduction not in ("mean", "batchmean", "sum", "none"):
            raise ValueError(f"kl_div: reduction must be one of mean, batchmean, sum, none, got {reduction!r}")
        self.reduction, self.log_target = reduction, log_target

    saved_names = ("input", "target")

    def forward(self, input, target):  # noqa: A002 - PyTorch's names
        log_q, t = input, target
        self._check(log_q, t)
        self.batch = log_q.shape[0] if log_q.ndim else 1
        xp = array_module(log_q)
        if self.log_target:
            loss = xp.exp(t) * (t - log_q)
        else:
            with numpy.errstate(divide="ignore", invalid="ignore"):
                loss = xp.where(t > 0, t * xp.log(xp.where(t > 0, t, 1)), 0) - t * log_q
        self.save_for_backward(log_q, t)
        if self.reduction == "batchmean":
            return loss.sum() / self.batch
        return _reduce(loss, self.reduction)

    @property
    def formula(self) -> str:
        scale = {"mean": "dy / n", "batchmean": "dy / N", "sum": "dy", "none": "dyᵢ"}[self.reduction]
        if self.log_target:
            return (f"L = e^target·(target − input) ⇒ dinput = −e^target·{scale}, "
                    f"dtarget = e^target·(target − input + 1)·{scale}")
        return f"L = target·(log target − input) ⇒ dinput = −target·{scale}, dtarget = (log target + 1 − input)·{scale}"

    def _scale(self, dy):
        return dy / self.batch if self.reduction == "batchmean" else super()._scale(dy)

    def backward(self, dy):
        log_q, t = self.saved_tensors
        xp = array_module(log_q)
        scale = self._scale(dy)
        if self.log_target:
            e = xp.exp(t)
            return -e * scale, e * (t - log_q + 1.0) * scale
        with numpy.errstate(divide="ignore"):
            dt = (xp.log(t) + 1.0 - log_q) * scale if self.needs_input_grad[1] else None
        return -t * scale, dt

    def backward_graph(self, dy):
        log_q, t = self.inputs
        scale = self._scale(dy)
        if self.log_target:
            e = exp(t)
            return -e * scale, e * (t - log_q + 1.0) * scale
        return -t * scale, (log(t) + 1.0 - log_q) * scale if self.needs_input_grad[1] else None


@public()
def kl_div(input: Tensor, target, reduction: str = "mean", log_target: bool = False) -> Tensor:  # noqa: A002
    """PyTorch's ``F.kl_div(input, target)``: input holds log-probabilities, target probabilities (or
    log-probabilities with ``log_target``); use reduction="batchmean" for the KL divergence."""
    return KLDiv(reduction, log_target)(*operands(input, target))


@public()
def cosine_embedding_loss(x1: Tensor, x2: Tensor, target, margin: float = 0.0, reduction: str = "mean") -> Tensor:
    """PyTorch's cosine embedding loss: 1 − cos(x1ᵢ, x2ᵢ) where targetᵢ = 1, max(0, cos − margin)
    where it is −1. x1, x2: (N, D), target: (N,) of ±1 → () or (N,). Composed of verified ops."""
    check_reduction("cosine_embedding_loss", reduction)
    if x1.ndim != 2 or x1.shape != x2.shape:
        raise ShapeError(f"cosine_embedding_loss: expected x1 and x2 of one shape (N, D), got {x1.shape} and {x2.shape}")
    labels = _as_labels(target).data
    if labels.shape != x1.shape[:1]:
        raise ShapeError(f"cosine_embedding_loss: expected target ({x1.shape[0]},), got {labels.shape}")
    # PyTorch's formula: each squared magnitude plus 1e-12 before the square root of their product
    cosine = (x1 * x2).sum(1) / (((x1 * x1).sum(1) + 1e-12) * ((x2 * x2).sum(1) + 1e-12)).sqrt()
    positive, negative = Tensor(labels == 1), Tensor(labels == -1)
    loss = where(positive, 1.0 - cosine, 0.0) + where(negative, maximum(cosine - margin, 0.0), 0.0)
    return _reduce(loss, reduction)
