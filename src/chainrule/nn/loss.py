"""Loss modules: each a thin Module around one loss op (ops/losses.py)."""
from __future__ import annotations

from ..backend import array_module
from ..ops import losses
from ..tensor import Tensor
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = losses.check_reduction(type(self).__name__, reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


def _labels(labels) -> Tensor:
    return labels if isinstance(labels, Tensor) else Tensor(labels)


class _ProbabilityTargetLoss(_Loss):
    """A loss whose target is floating: a number or array target takes the prediction's dtype
    (and device), which is known only when it runs."""

    def forward(self, prediction: Tensor, target) -> Tensor:
        if not isinstance(target, Tensor):
            target = Tensor(array_module(prediction.data).asarray(target, dtype=prediction.dtype))
        elif target.dtype.kind != "f" and prediction.dtype.kind == "f":
            target = Tensor(target.data.astype(prediction.dtype))
        return super().forward(prediction, target)


class MSELoss(_ProbabilityTargetLoss):
    """Mean squared error. pred: S, target: S → () ("mean"/"sum") or S ("none")."""

    def as_function(self, target):
        return (losses.MSE(self.reduction), (target,)) if isinstance(target, Tensor) else None


class CrossEntropyLoss(_Loss):
    """Cross-entropy of softmax(logits) against integer labels, one op.

    logits: (N, C), labels: (N,) integers in [0, C) → () ("mean"/"sum") or (N,) ("none").
    ``label_smoothing`` ε mixes the one-hot target with the uniform one, as in PyTorch.
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def as_function(self, labels):
        return losses.SoftmaxCrossEntropy(self.reduction, self.label_smoothing), (_labels(labels),)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, label_smoothing={self.label_smoothing}"


class NLLLoss(_Loss):
    """Negative log-likelihood. log_probs: (N, C) (e.g. from log_softmax), labels: (N,)
    integers in [0, C) → () ("mean"/"sum") or (N,) ("none")."""

    def as_function(self, labels):
        return losses.NLLLoss(self.reduction), (_labels(labels),)


class BCEWithLogitsLoss(_ProbabilityTargetLoss):
    """Binary cross-entropy on logits, computed stably. logits: S, targets: S in [0, 1]
    → () ("mean"/"sum") or S ("none")."""

    def as_function(self, targets):
        return (losses.BinaryCrossEntropyWithLogits(self.reduction), (targets,)) if isinstance(targets, Tensor) else None
