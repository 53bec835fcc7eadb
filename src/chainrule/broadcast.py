"""Reducing a gradient back to the shape of the input it belongs to.

When an input of shape (3, 1, 5) is broadcast against (4, 5), the output is
(3, 4, 5) and its gradient must be summed over every axis the input was stretched
along: the leading axes it did not have, and the axes where it had size 1.
"""
from __future__ import annotations


def sum_to(grad, shape: tuple):
    """Sum ``grad`` over broadcast axes so that it has ``shape``.

    grad: any shape that ``shape`` broadcasts to → ``shape``.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"cannot reduce a gradient of shape {grad.shape} to the larger shape {shape}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    if lead:
        out = out.reshape(out.shape[lead:])
    if out.shape != shape:
        raise ValueError(f"cannot reduce a gradient of shape {grad.shape} to shape {shape}")
    return out
