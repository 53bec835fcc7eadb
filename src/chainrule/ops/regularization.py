"""Regularisation ops: inverted dropout of elements, and of whole channels.

The mask comes from a ``numpy.random.Generator`` handed in by the caller, so a
seeded generator reproduces the same mask (and tests can rebuild it). It is drawn
on the host, in float64, and moved to the input's device: the same seed gives the
same mask on the CPU and on a GPU, for float32 and float64 inputs alike.
"""
from __future__ import annotations

import numpy

from ..backend import array_module
from ..random import default_generator
from ..tensor import Function, Tensor
from .im2col import check_image
from .registry import public, register


@register("dropout")
class Dropout(Function):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1 − p).

    x: S → y: S. An element is kept where u ≥ p for u drawn uniformly in [0, 1).
    With p = 1 every element is dropped.
    """

    def __init__(self, p: float, generator: numpy.random.Generator):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{self.op_name}: p must be in [0, 1], got {p}")
        self.p = float(p)
        self.generator = generator

    def _mask_shape(self, x) -> tuple:
        return x.shape

    def _broadcast(self, mask):
        return mask

    saved_names = ("mask",)

    def forward(self, x):
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        keep = self.generator.random(self._mask_shape(x)) >= self.p
        mask = self._broadcast(array_module(x).asarray(keep).astype(x.dtype) * scale)
        self.save_for_backward(mask)
        return x * mask

    formula = "y = x·m/(1 − p), m fixed ⇒ dx = dy·m/(1 − p)"

    def backward(self, dy):
        (mask,) = self.saved_tensors
        return (dy * mask,)

    def backward_graph(self, dy):
        # the mask is a constant drawn in forward: the same one, not a new draw
        (mask,) = self.saved_tensors
        return (dy * Tensor(mask),)

    def replay(self, x: Tensor) -> Tensor:
        """This node's forward again on the graph, with the same mask (``Chain`` differentiates
        its steps twice through it)."""
        (mask,) = self.saved_tensors
        return x * Tensor(mask)


def dropout_function(p: float, training: bool, generator=None, kind: type = Dropout) -> Dropout | None:
    """The Function that ``dropout`` (``kind`` Dropout2d: ``dropout2d``) applies, or None when
    it is the identity."""
    if not training or p == 0:
        return None
    return kind(p, generator or default_generator())


@public()
def dropout(x: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Inverted dropout; the identity when not training or p = 0. The mask is drawn
    from ``generator`` (a numpy.random.Generator), else chainrule's default one."""
    function = dropout_function(p, training, generator)
    return x if function is None else function(x)


@register("dropout2d")
class Dropout2d(Dropout):
    """Channel dropout for images: zero each channel x[n, c] with probability p, scale the kept
    ones by 1/(1 − p). Neighbouring pixels of a feature map are strongly correlated, so dropping
    single pixels barely regularises a convolutional layer; dropping whole channels does.

    x: (N, C, H, W) → y: (N, C, H, W); u of shape (N, C) decides which channels stay.
    """

    def _mask_shape(self, x) -> tuple:
        check_image(x, "dropout2d")
        return x.shape[:2]

    def _broadcast(self, mask):
        return mask[:, :, None, None]

    formula = "y = x·m[n, c]/(1 − p), m fixed ⇒ dx = dy·m[n, c]/(1 − p)"


@public()
def dropout2d(x: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Channel dropout on (N, C, H, W); the identity when not training or p = 0. The mask
    is drawn from ``generator`` (a numpy.random.Generator), else chainrule's default one."""
    function = dropout_function(p, training, generator, Dropout2d)
    return x if function is None else function(x)
