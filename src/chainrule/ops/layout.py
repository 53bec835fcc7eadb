"""Memory order: which axis of an array its memory holds outermost, and arrays made
to match another's order.

Convolution hands back (N, C, H, W) views of (C, H, W, N) memory (see im2col.py).
NumPy's elementwise ops keep their inputs' order, but run several times slower when
their operands disagree on it; ops that save arrays for backward therefore bring an
upstream gradient to the order of what they saved, once, before working on it.
"""
from __future__ import annotations

import numpy

from ..backend import array_module


def memory_order(x) -> tuple[int, ...]:
    """x's axes from the largest stride to the smallest: the order its memory holds them in."""
    return tuple(sorted(range(x.ndim), key=lambda axis: x.strides[axis], reverse=True))


def empty_in_order(shape: tuple, order: tuple[int, ...], dtype, xp=numpy):
    """An uninitialised array of ``xp`` of ``shape`` whose memory holds its axes in ``order``
    (for order (1, 2, 3, 0): an (N, C, H, W) view of (C, H, W, N) memory)."""
    buffer = xp.empty(tuple(shape[axis] for axis in order), dtype=dtype)
    return buffer.transpose(tuple(int(a) for a in numpy.argsort(order)))


def full_in_layout_of(x, shape: tuple, fill):
    """An array of ``shape`` filled with ``fill``, with x's dtype and memory order."""
    buffer = empty_in_order(shape, memory_order(x), x.dtype, array_module(x))
    buffer.fill(fill)
    return buffer


def in_order(x, order: tuple[int, ...]):
    """x itself when its memory holds its axes in ``order``, else a copy of x that does."""
    if memory_order(x) == order:
        return x
    copy = empty_in_order(x.shape, order, x.dtype, array_module(x))
    copy[...] = x
    return copy
