"""Loss modules: each a thin Module around one loss op (ops/losses.py)."""
from __future__ import annotations

from ..backend import array_module
from ..ops import losses
from ..tensor import Tensor
from .module import Module


class _Loss(Module):
    reductions = losses.REDUCTIONS

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in self.reductions:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {self.reductions}, got {reduction!r}")
        self.reduction = reduction

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
    """Cross-entropy of softmax(logits), one op.

    logits: (N, C), target: (N,) integer labels in [0, C), or (N, C) probabilities → ()
    ("mean"/"sum") or (N,) ("none"). ``weight`` (C,) weighs the classes, a label equal to
    ``ignore_index`` counts for nothing, ``label_smoothing`` ε mixes the target with the uniform
    distribution: all as in PyTorch.
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.weight = weight
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self._labels_take_the_fast_op = weight is None and ignore_index < 0

    def as_function(self, target):
        target = _labels(target)
        if self._labels_take_the_fast_op and target.data.dtype.kind in "iu":  # every step: decided without a call
            return losses.SoftmaxCrossEntropy(self.reduction, self.label_smoothing, self.ignore_index), (target,)
        return losses.cross_entropy_function(target, self.weight, self.ignore_index, self.reduction,
                                             self.label_smoothing), (target,)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, label_smoothing={self.label_smoothing}"


class NLLLoss(_Loss):
    """Negative log-likelihood. log_probs: (N, C) (e.g. from log_softmax), labels: (N,)
    integers in [0, C) → () ("mean"/"sum") or (N,) ("none"); class ``weight`` and
    ``ignore_index`` as in PyTorch."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def as_function(self, labels):
        weight = self.weight.data if isinstance(self.weight, Tensor) else self.weight
        return losses.NLLLoss(self.reduction, weight, self.ignore_index), (_labels(labels),)


class L1Loss(_ProbabilityTargetLoss):
    """Mean absolute error. pred: S, target: S → () or S."""

    def as_function(self, target):
        return (losses.L1Loss(self.reduction), (target,)) if isinstance(target, Tensor) else None


class HuberLoss(_ProbabilityTargetLoss):
    """½d² where |d| < delta, delta·(|d| − ½delta) elsewhere. pred: S, target: S → () or S."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def as_function(self, target):
        return (losses.HuberLoss(self.reduction, self.delta), (target,)) if isinstance(target, Tensor) else None


class SmoothL1Loss(_ProbabilityTargetLoss):
    """½d²/beta where |d| < beta, |d| − ½beta elsewhere. pred: S, target: S → () or S."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = beta

    def as_function(self, target):
        if not isinstance(target, Tensor):
            return None
        if self.beta == 0:
            return losses.L1Loss(self.reduction), (target,)
        return losses.HuberLoss(self.reduction, self.beta, 1.0 / self.beta), (target,)


class BCELoss(_ProbabilityTargetLoss):
    """Binary cross-entropy of probabilities (logs clamped at −100, as PyTorch). p: S, t: S → () or S."""

    def as_function(self, target):
        return (losses.BinaryCrossEntropy(self.reduction), (target,)) if isinstance(target, Tensor) else None


class KLDivLoss(_ProbabilityTargetLoss):
    """KL divergence, PyTorch's way round: input log-probabilities, target probabilities (or
    log-probabilities with ``log_target``); reduction "batchmean" is the true KL per sample."""

    reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction)
        self.log_target = log_target

    def as_function(self, target):
        return (losses.KLDiv(self.reduction, self.log_target), (target,)) if isinstance(target, Tensor) else None


class BCEWithLogitsLoss(_ProbabilityTargetLoss):
    """Binary cross-entropy on logits, computed stably. logits: S, targets: S in [0, 1]
    → () ("mean"/"sum") or S ("none")."""

    def as_function(self, targets):
        return (losses.BinaryCrossEntropyWithLogits(self.reduction), (targets,)) if isinstance(targets, Tensor) else None


class CosineEmbeddingLoss(_Loss):
    """1 − cos(x1, x2) for pairs labelled 1, max(0, cos − margin) for pairs labelled −1.
    x1, x2: (N, D), target: (N,) → () or (N,). Composed of ops (no single op to fuse)."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, x1: Tensor, x2: Tensor, target) -> Tensor:
        return losses.cosine_embedding_loss(x1, x2, target, self.margin, self.reduction)
