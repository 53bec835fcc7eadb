"""Losses, each one Function with one hand-derived backward: cross-entropy on logits,
negative log-likelihood on log-probabilities, binary cross-entropy on logits, mean
squared error.

Each reduces the per-element losses L_i by ``reduction``: "mean" (the default),
"sum", or "none" (no reduction); the formula ``cr.explain`` shows says which.
"""
from __future__ import annotations

from .. import kernels
from ..backend import array_module
from ..errors import ShapeError
from ..tensor import Function, Tensor
from .activations import Softmax, sigmoid
from .dtypes import check_same_dtype, operands
from .labels import check_class_labels
from .registry import public, register

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(op: str, reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return loss.mean()
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
    distribution is q = (1 − ε)·onehot + ε/C, as in PyTorch.
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0):
        self.reduction = check_reduction("softmax_cross_entropy", reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"softmax_cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.smoothing = float(label_smoothing)

    saved_names = ("p", "labels")

    def forward(self, logits, labels):
        if logits.ndim != 2 or labels.shape != logits.shape[:1]:
            raise ShapeError(
                f"softmax_cross_entropy: expected logits (N, C) and labels (N,), got {logits.shape} and {labels.shape}"
            )
        fast = kernels.cross_entropy(logits, labels, self.smoothing, self.reduction)
        if fast is not None:
            p, loss = fast
            self.save_for_backward(p, labels)
            return loss
        xp = array_module(logits)
        n, c = logits.shape
        check_class_labels("softmax_cross_entropy", labels, c)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_p[xp.arange(n), labels]
        if self.smoothing:
            loss = (1.0 - self.smoothing) * loss - self.smoothing * log_p.mean(axis=1)
        self.save_for_backward(xp.exp(log_p, out=log_p), labels)
        if self.reduction == "mean":
            # sum / n is what mean() computes, without its Python-level wrapper (a third of this op at batch 1)
            return loss.sum() / n if n else loss.mean()
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
        p, labels = self.saved_tensors
        n, c = p.shape
        divisor = n if self.reduction == "mean" else 0
        dz = kernels.cross_entropy_backward(p, labels, self.smoothing, dy, divisor)
        if dz is not None:
            return dz, None
        dz = p.copy()
        dz[array_module(p).arange(n), labels] -= 1.0 - self.smoothing
        if self.smoothing:
            dz -= self.smoothing / c
        if self.reduction == "none":
            dz *= dy[:, None]
        else:
            dz *= dy / divisor if divisor else dy
        return dz, None

    def backward_graph(self, dy):
        logits, labels = self.inputs
        n, c = logits.shape
        xp = array_module(logits.data)
        target = xp.full((n, c), self.smoothing / c, dtype=logits.dtype)
        target[xp.arange(n), labels.data] += 1.0 - self.smoothing
        scale = dy.unsqueeze(1) if self.reduction == "none" else _upstream_scale(dy, self.reduction, n)
        return (Softmax(1)(logits) - Tensor(target)) * scale, None


@public()
def softmax_cross_entropy(logits: Tensor, labels, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of softmax(logits) against integer labels. logits: (N, C), labels: (N,)."""
    return SoftmaxCrossEntropy(reduction, label_smoothing)(logits, _as_labels(labels))


@register("nll_loss")
class NLLLoss(Function):
    """Negative log-likelihood of integer labels under given log-probabilities.

    log_probs: (N, C) floating, labels: (N,) integers in [0, C) → loss: () for
    reduction "mean"/"sum", (N,) for "none". L_i = −log_probs[i, labels_i].
    """

    def __init__(self, reduction: str = "mean"):
        self.reduction = check_reduction("nll_loss", reduction)

    saved_names = ("labels",)

    def forward(self, log_probs, labels):
        if log_probs.ndim != 2 or labels.shape != log_probs.shape[:1]:
            raise ShapeError(
                f"nll_loss: expected log_probs (N, C) and labels (N,), got {log_probs.shape} and {labels.shape}"
            )
        check_class_labels("nll_loss", labels, log_probs.shape[1])
        self.shape = log_probs.shape
        self.dtype = log_probs.dtype
        self.save_for_backward(labels)
        loss = -log_probs[array_module(log_probs).arange(log_probs.shape[0]), labels]
        return _reduce(loss, self.reduction)

    @property
    def formula(self) -> str:
        return f"L = −log_probs[labels] ⇒ dlog_probs = −onehot(labels)·{_scaled(self.reduction, 'N')}"

    def backward(self, dy):
        (labels,) = self.saved_tensors
        xp = array_module(dy)
        n = self.shape[0]
        dp = xp.zeros(self.shape, dtype=self.dtype)
        dp[xp.arange(n), labels] = -_upstream_scale(dy, self.reduction, n)
        return dp, None

    def backward_graph(self, dy):
        (labels,) = self.saved_tensors
        xp = array_module(dy.data)
        n = self.shape[0]
        minus_onehot = xp.zeros(self.shape, dtype=self.dtype)
        minus_onehot[xp.arange(n), labels] = -1.0
        scale = dy.unsqueeze(1) if self.reduction == "none" else _upstream_scale(dy, self.reduction, n)
        return Tensor(minus_onehot) * scale, None


@public()
def nll_loss(log_probs: Tensor, labels, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood. log_probs: (N, C), labels: (N,) integers in [0, C)."""
    return NLLLoss(reduction)(log_probs, _as_labels(labels))


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
