"""Dropout and Dropout2d: inverted dropout (of elements, of whole channels) in training
mode, the identity in evaluation mode."""
from __future__ import annotations

import numpy

from ..ops import regularization
from .module import Module


class Dropout(Module):
    """Zero each element with probability p while training and scale the rest by
    1/(1 − p), so evaluation needs no rescaling. x: S → S.

    The mask is drawn from ``generator`` if given, else from chainrule's default
    generator at call time (so ``manual_seed`` reproduces it).
    """

    _op = regularization.Dropout

    def __init__(self, p: float = 0.5, generator: numpy.random.Generator | None = None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def as_function(self):
        return regularization.dropout_function(self.p, self.training, self.generator, self._op), ()

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Dropout):
    """Zero each channel x[n, c] with probability p while training and scale the kept
    ones by 1/(1 − p). x: (N, C, H, W) → same shape."""

    _op = regularization.Dropout2d
