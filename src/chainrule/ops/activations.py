"""Activation functions: elementwise nonlinearities, and softmax over an axis.

Shapes: x: S → y: S.
"""
from __future__ import annotations

from .. import backend
from ..tensor import Function
from .registry import register


@register("relu")
class ReLU(Function):
    def forward(self, x):
        self.y = backend.xp.maximum(x, 0)
        return self.y

    def backward(self, dy):
        # y = max(x, 0)  ⇒  dx = dy·[x > 0]   (0 at x = 0, as PyTorch)
        return (dy * (self.y > 0),)
