"""Fused losses on log-probabilities and on logits, each one Function with one
hand-derived backward.
"""
from __future__ import annotations

from .. import backend
from ..errors import ShapeError
from ..tensor import Function
from .fused import _check_reduction
from .labels import check_class_labels
from .registry import register


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


@register("nll_loss")
class NLLLoss(Function):
    """Negative log-likelihood of integer labels under given log-probabilities.

    log_probs: (N, C) floating, labels: (N,) integers in [0, C) → loss: () for
    reduction "mean"/"sum", (N,) for "none". L_i = −log_probs[i, labels_i].
    """

    formula = "dlog_probs = −onehot(labels)·dy / N"

    def __init__(self, reduction: str = "mean"):
        self.reduction = _check_reduction("nll_loss", reduction)

    def forward(self, log_probs, labels):
        if log_probs.ndim != 2 or labels.shape != log_probs.shape[:1]:
            raise ShapeError(
                f"nll_loss: expected log_probs (N, C) and labels (N,), got {log_probs.shape} and {labels.shape}"
            )
        check_class_labels("nll_loss", labels, log_probs.shape[1])
        self.shape = log_probs.shape
        self.dtype = log_probs.dtype
        self.labels = labels
        loss = -log_probs[backend.xp.arange(log_probs.shape[0]), labels]
        return _reduce(loss, self.reduction)

    def backward(self, dy):
        # L_i = −p[i, y_i]  ⇒  dp[i, y_i] = −dL_i, zero elsewhere; the mean divides by N
        xp = backend.xp
        n = self.shape[0]
        dp = xp.zeros(self.shape, dtype=self.dtype)
        dp[xp.arange(n), self.labels] = -_upstream_scale(dy, self.reduction, n)
        return dp, None


@register("binary_cross_entropy_with_logits")
class BinaryCrossEntropyWithLogits(Function):
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed stably.

    logits: S, targets: S (floating) → loss: () for "mean"/"sum", S for "none".
    L = −t·log σ(z) − (1 − t)·log(1 − σ(z)) = max(z, 0) − z·t + log(1 + e^(−|z|)),
    which never exponentiates a large positive number.
    """

    formula = "dlogits = (σ(logits) − targets)·dy / n, dtargets = −logits·dy / n"

    def __init__(self, reduction: str = "mean"):
        self.reduction = _check_reduction("binary_cross_entropy_with_logits", reduction)

    def forward(self, logits, targets):
        xp = backend.xp
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
        self.logits, self.targets = logits, targets
        # σ(z) from the same e = e^(−|z|): 1/(1+e) for z ≥ 0, e/(1+e) for z < 0
        self.sigmoid = xp.where(logits >= 0, 1, e) / (1 + e)
        return _reduce(loss, self.reduction)

    def backward(self, dy):
        # L = max(z, 0) − z·t + log(1 + e^(−|z|))  ⇒  dz = dL·(σ(z) − t), dt = −dL·z
        scale = _upstream_scale(dy, self.reduction, self.logits.size)
        dz = (self.sigmoid - self.targets) * scale if self.needs_input_grad[0] else None
        dt = -self.logits * scale if self.needs_input_grad[1] else None
        return dz, dt
