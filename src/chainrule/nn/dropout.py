"""Dropout: inverted dropout in training mode, the identity in evaluation mode."""
from __future__ import annotations

import numpy

from ..ops import functional as F
from ..tensor import Tensor
from .module import Module


class Dropout(Module):
    """Zero each element with probability p while training and scale the rest by
    1/(1 − p), so evaluation needs no rescaling. x: S → S.

    The mask is drawn from ``generator`` if given, else from chainrule's default
    generator at call time (so ``manual_seed`` reproduces it).
    """

    def __init__(self, p: float = 0.5, generator: numpy.random.Generator | None = None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.generator)

    def as_function(self):
        return F.dropout_function(self.p, self.training, self.generator), ()

    def extra_repr(self) -> str:
        return f"p={self.p}"
