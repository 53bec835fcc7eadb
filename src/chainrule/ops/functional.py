"""The ops as plain functions of Tensors: ``relu(x)``, ``linear(x, W, b)``, ...

Each is declared beside its op, in the op's module (``@public`` in registry.py); this
module gathers them. Each builds a fresh Function (one graph node) and calls it.
Non-Tensor operands (numbers, arrays) become constants that take no gradient.
"""
from . import activations, attention, conv, device, elementwise, embedding, linalg, losses  # noqa: F401 - declare the ops
from . import normalization, pooling, recurrent, reductions, regularization, resize, rounding, shape, trigonometric  # noqa: F401
from .registry import FUNCTIONS

globals().update(FUNCTIONS)

__all__ = list(FUNCTIONS)
