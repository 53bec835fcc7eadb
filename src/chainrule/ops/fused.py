"""Fused ops: a whole layer or loss in one Function, with one hand-derived backward.

Fusing saves the intermediate arrays a chain of small ops would keep, and the
Python overhead of calling them; the derivation is the textbook one.
"""
from __future__ import annotations

import math

import numpy

from .. import backend, kernels
from ..errors import ShapeError
from ..tensor import Function
from .dtypes import check_same_dtype
from .labels import check_class_labels
from .registry import register

REDUCTIONS = ("mean", "sum", "none")
_KERNEL_REDUCTIONS = {"none": 0, "sum": 1, "mean": 2}  # the codes of kernels.cross_entropy


def _check_reduction(op: str, reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _as_matrix(a):
    """``a`` as a 2-D (rows, last axis) array, a view when it can be.

    The products go through ``dot`` on 2-D arrays, not ``@``: NumPy's matmul hands an
    outer product (M×1)·(1×N), the weight gradient at batch size 1, to a general GEMM
    that takes ten times as long as the rank-1 update ``dot`` makes of it.
    """
    if a.ndim == 2:
        return a
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def _transposed_product(dy, x):
    """dyᵀ·x for 2-D dy (N, D_out) and x (N, D_in). At N = 1 it is an outer product, which
    the compiled kernel writes three times faster than BLAS's general product, same bits."""
    if dy.shape[0] == 1 and kernels.AVAILABLE and type(dy) is numpy.ndarray:
        out = numpy.empty((dy.shape[1], x.shape[1]), dy.dtype)
        try:
            kernels.outer(dy, x, out)
            return out
        except kernels.DOES_NOT_FIT:
            pass
    return backend.xp.dot(dy.T, x)


@register("linear")
class Linear(Function):
    """Affine map y = x·Wᵀ + b.

    x: (..., D_in), W: (D_out, D_in), b: (D_out,) or absent → y: (..., D_out)
    """

    formula = "dx = dy·W, dW = dyᵀ·x, db = Σ_batch dy"

    def forward(self, x, W, b=None):
        if x.shape[-1:] != W.shape[1:] or W.ndim != 2:
            raise ShapeError(f"linear: expected x (..., {W.shape[-1]}) for W {W.shape}, got x {x.shape}")
        if b is not None and b.shape != W.shape[:1]:
            raise ShapeError(f"linear: expected bias ({W.shape[0]},) for W {W.shape}, got bias {b.shape}")
        check_same_dtype("linear", x, W, *(() if b is None else (b,)))
        self.has_bias = b is not None
        self.x_shape = x.shape
        self.W = W
        x2 = _as_matrix(x)
        if self.needs_input_grad[1]:
            self.x = x2
        y = backend.xp.dot(x2, W.T)
        if b is not None:
            y += b
        return y if x.ndim == 2 else y.reshape(*x.shape[:-1], W.shape[0])

    def backward(self, dy):
        # y = x·Wᵀ + b  ⇒  dx = dy·W, dW = dyᵀ·x, db = Σ_batch dy
        need = self.needs_input_grad
        dot = backend.xp.dot
        dy2 = _as_matrix(dy)
        dx = None
        if need[0]:
            dx = dot(dy2, self.W)
            if dy.ndim != 2:
                dx = dx.reshape(self.x_shape)
        dW = _transposed_product(dy2, self.x) if need[1] else None
        if not self.has_bias:
            return dx, dW
        db = dy2.sum(axis=0) if need[2] else None
        return dx, dW, db


@register("softmax_cross_entropy")
class SoftmaxCrossEntropy(Function):
    """Cross-entropy of softmax(logits) against integer class labels.

    logits: (N, C) floating, labels: (N,) integers in [0, C) → loss: () for
    reduction "mean"/"sum", (N,) for "none". With ``label_smoothing`` ε the target
    distribution is q = (1 − ε)·onehot + ε/C, as in PyTorch.
    """

    formula = "dlogits = (softmax(logits) − onehot(labels))·dy / N"

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0):
        self.reduction = _check_reduction("softmax_cross_entropy", reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"softmax_cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.smoothing = float(label_smoothing)

    def forward(self, logits, labels):
        xp = backend.xp
        if logits.ndim != 2 or labels.shape != logits.shape[:1]:
            raise ShapeError(
                f"softmax_cross_entropy: expected logits (N, C) and labels (N,), got {logits.shape} and {labels.shape}"
            )
        self.labels = labels
        n, c = logits.shape
        if kernels.AVAILABLE and type(logits) is numpy.ndarray and (c <= 16 or n * c <= 2048):
            # One pass per row in C instead of a dozen NumPy calls, 2-6x faster on short rows and
            # small batches; past that, NumPy's vectorized exp beats libm's one-at-a-time exp.
            p = numpy.empty_like(logits)
            out = numpy.empty(logits.shape[:1] if self.reduction == "none" else (), logits.dtype)
            try:
                kernels.cross_entropy(logits, labels, c, self.smoothing,
                                      _KERNEL_REDUCTIONS[self.reduction], p, out)
            except kernels.DOES_NOT_FIT:  # an unusual layout or dtype, or a label to report below
                pass
            else:
                self.p = p
                return out
        check_class_labels("softmax_cross_entropy", labels, c)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        rows = xp.arange(n)
        loss = -log_p[rows, labels]
        if self.smoothing:
            loss = (1.0 - self.smoothing) * loss - self.smoothing * log_p.mean(axis=1)
        self.p = xp.exp(log_p, out=log_p)
        if self.reduction == "mean":
            # sum / n is what mean() computes, without its Python-level wrapper (a third of this op at batch 1)
            return loss.sum() / n if n else loss.mean()
        if self.reduction == "sum":
            return loss.sum()
        return loss

    def backward(self, dy):
        # L_i = −Σ_c q_ic·log softmax(z_i)_c  ⇒  dz_i = dL_i·(softmax(z_i) − q_i); the mean divides by N
        xp = backend.xp
        n, c = self.p.shape
        if kernels.AVAILABLE and type(self.p) is numpy.ndarray:
            dz = numpy.empty_like(self.p)
            try:
                kernels.cross_entropy_backward(self.p, self.labels, c, self.smoothing, dy,
                                               n if self.reduction == "mean" else 0, dz)
                return dz, None
            except kernels.DOES_NOT_FIT:
                pass
        dz = self.p.copy()
        dz[xp.arange(n), self.labels] -= 1.0 - self.smoothing
        if self.smoothing:
            dz -= self.smoothing / c
        if self.reduction == "none":
            dz *= dy[:, None]
        elif self.reduction == "mean":
            dz *= dy / n if n else dy
        else:
            dz *= dy
        return dz, None


@register("mse")
class MSE(Function):
    """Mean squared error. pred: S, target: S → () for "mean"/"sum", S for "none"."""

    formula = "dpred = 2(pred − target)·dy / n, dtarget = −2(pred − target)·dy / n"

    def __init__(self, reduction: str = "mean"):
        self.reduction = _check_reduction("mse", reduction)

    def forward(self, pred, target):
        if pred.shape != target.shape:
            raise ShapeError(f"mse: pred and target must have the same shape, got {pred.shape} and {target.shape}")
        check_same_dtype("mse", pred, target)
        self.diff = pred - target
        squared = self.diff * self.diff
        if self.reduction == "mean":
            return squared.mean()
        if self.reduction == "sum":
            return squared.sum()
        return squared

    def backward(self, dy):
        # L = (1/n)·Σ (p − t)²  ⇒  dp = dL·2(p − t)/n, dt = −dp   (n = 1 for "sum"/"none")
        scale = 2.0 / self.diff.size if self.reduction == "mean" and self.diff.size else 2.0
        dpred = self.diff * (dy * scale)
        return dpred, -dpred
