"""Loss modules: each a thin Module around one fused loss op."""
from __future__ import annotations

from ..errors import ShapeError
from ..ops import functional as F
from ..ops import fused
from ..ops.fused import REDUCTIONS
from ..tensor import Tensor
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


def _labels(labels) -> Tensor:
    return labels if isinstance(labels, Tensor) else Tensor(labels)


class MSELoss(_Loss):
    """Mean squared error. pred: S, target: S → () ("mean"/"sum") or S ("none")."""

    def forward(self, pred: Tensor, target) -> Tensor:
        return F.mse(pred, target, self.reduction)

    def as_function(self, target):
        # A number or array target takes the prediction's dtype, known only when it runs.
        if not isinstance(target, Tensor):
            return None
        return fused.MSE(self.reduction), (target,)


class CrossEntropyLoss(_Loss):
    """Cross-entropy of softmax(logits) against integer labels, fused into one op.

    logits: (N, C), labels: (N,) integers in [0, C) → () ("mean"/"sum") or (N,) ("none").
    ``label_smoothing`` ε mixes the one-hot target with the uniform one, as in PyTorch.
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def forward(self, logits: Tensor, labels) -> Tensor:
        labels = _labels(labels)
        if logits.ndim != 2 or labels.shape != logits.shape[:1]:
            raise ShapeError(
                f"CrossEntropyLoss: expected logits (N, C) and labels (N,), got {logits.shape} and {labels.shape}"
            )
        return F.softmax_cross_entropy(logits, labels, self.reduction, self.label_smoothing)

    def as_function(self, labels):
        return fused.SoftmaxCrossEntropy(self.reduction, self.label_smoothing), (_labels(labels),)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, label_smoothing={self.label_smoothing}"


class NLLLoss(_Loss):
    """Negative log-likelihood. log_probs: (N, C) (e.g. from log_softmax), labels: (N,)
    integers in [0, C) → () ("mean"/"sum") or (N,) ("none")."""

    def forward(self, log_probs: Tensor, labels) -> Tensor:
        return F.nll_loss(log_probs, _labels(labels), self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, computed stably. logits: S, targets: S in [0, 1]
    → () ("mean"/"sum") or S ("none")."""

    def forward(self, logits: Tensor, targets) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, targets, self.reduction)
