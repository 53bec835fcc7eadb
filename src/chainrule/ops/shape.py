"""Ops that move elements without changing them: their backward moves the
gradient back to where each element came from.
"""
from __future__ import annotations

import numpy

from ..tensor import Function
from .registry import register


@register("reshape")
class Reshape(Function):
    """x: S → y: shape (one entry may be -1), same number of elements."""

    def __init__(self, shape: tuple):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, dy):
        # y = reshape(x)  ⇒  dx = reshape(dy) back to x's shape
        return (dy.reshape(self.x_shape),)


@register("permute")
class Permute(Function):
    """x: (d_0, …, d_k) → y: (d_axes[0], …, d_axes[k]); axes=None reverses them."""

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, x):
        ndim = x.ndim
        axes = tuple(reversed(range(ndim))) if self.axes is None else self.axes
        if len(axes) != ndim or sorted(a % ndim for a in axes) != list(range(ndim)):
            raise ValueError(f"permute: {self.axes} is not a permutation of the {x.ndim} axes of {x.shape}")
        self.axes = tuple(a % ndim for a in axes)
        return x.transpose(self.axes)

    def backward(self, dy):
        # y = permute(x, p)  ⇒  dx = permute(dy, p⁻¹)
        inverse = numpy.argsort(self.axes)
        return (dy.transpose(tuple(int(i) for i in inverse)),)
