"""Regularisation ops: inverted dropout.

The mask comes from a ``numpy.random.Generator`` handed in by the caller, so a
seeded generator reproduces the same mask (and tests can rebuild it).
"""
from __future__ import annotations

import numpy

from .. import backend
from ..tensor import Function
from .registry import register


@register("dropout")
class Dropout(Function):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1 − p).

    x: S → y: S. An element is kept where u ≥ p for u drawn uniformly in [0, 1)
    (in float64, so float32 and float64 inputs get the same mask from the same seed).
    With p = 1 every element is dropped.
    """

    formula = "dx = dy·m/(1 − p)"

    def __init__(self, p: float, generator: numpy.random.Generator):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout: p must be in [0, 1], got {p}")
        self.p = float(p)
        self.generator = generator

    def forward(self, x):
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        keep = self.generator.random(x.shape) >= self.p
        self.mask = backend.xp.asarray(keep).astype(x.dtype) * scale
        return x * self.mask

    def backward(self, dy):
        # y = x·m/(1 − p), m fixed  ⇒  dx = dy·m/(1 − p)
        return (dy * self.mask,)
