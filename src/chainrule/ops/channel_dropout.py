"""Channel dropout for images: whole feature maps are kept or zeroed together.

Neighbouring pixels of a feature map are strongly correlated, so dropping single
pixels barely regularises a convolutional layer; dropping whole channels does.
"""
from __future__ import annotations

import numpy

from .. import backend
from ..tensor import Function
from .im2col import check_image
from .registry import register


@register("dropout2d")
class Dropout2d(Function):
    """Zero each channel x[n, c] with probability p, scale the kept ones by 1/(1 − p).

    x: (N, C, H, W) → y: (N, C, H, W). Channel (n, c) is kept where u[n, c] ≥ p for
    u of shape (N, C) drawn uniformly in [0, 1) from ``generator`` (in float64, so
    float32 and float64 inputs get the same mask from the same seed). p = 1 drops all.
    """

    formula = "dx = dy·m[n, c]/(1 − p)"

    def __init__(self, p: float, generator: numpy.random.Generator):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout2d: p must be in [0, 1], got {p}")
        self.p = float(p)
        self.generator = generator

    def forward(self, x):
        check_image(x, "dropout2d")
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        keep = self.generator.random(x.shape[:2]) >= self.p
        self.mask = backend.xp.asarray(keep).astype(x.dtype)[:, :, None, None] * scale
        return x * self.mask

    def backward(self, dy):
        # y = x·m[n, c]/(1 − p), m fixed  ⇒  dx = dy·m[n, c]/(1 − p)
        return (dy * self.mask,)
