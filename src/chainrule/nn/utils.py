"""Utilities on parameters and their gradients, with PyTorch's names (``nn.utils``):
``clip_grad_norm_``, ``clip_grad_value_``, ``parameters_to_vector``, ``vector_to_parameters``."""
from __future__ import annotations

import math
from collections.abc import Iterable

from ..backend import array_module
from ..tensor import Tensor, gradient_array


def _with_gradients(parameters) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients in place so that their joint norm (over all of them, of order
    ``norm_type``, ``inf`` for the largest magnitude) is at most ``max_norm``; return that norm,
    before clipping, as a 0-d Tensor of the gradients' dtype. As PyTorch: the scale is
    max_norm / (norm + 1e-6), applied when it is below 1."""
    grads = [gradient_array(p) for p in _with_gradients(parameters)]
    if not grads:
        return Tensor(array_module(None).zeros(()))
    xp = array_module(grads[0])
    norm_type = float(norm_type)
    if norm_type == math.inf:
        norms = [xp.abs(g).max() if g.size else xp.zeros((), g.dtype) for g in grads]
        total = xp.max(xp.stack(norms))
    else:
        total = xp.sum(xp.stack([xp.sum(xp.abs(g) ** norm_type) for g in grads])) ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {float(total)}")
    scale = float(max_norm) / (float(total) + 1e-6)
    if scale < 1.0:
        for g in grads:
            g *= g.dtype.type(scale)
    return Tensor(xp.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clamp every gradient, in place, to [−clip_value, clip_value]."""
    for p in _with_gradients(parameters):
        grad = gradient_array(p)
        array_module(grad).clip(grad, -clip_value, clip_value, out=grad)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Every parameter's values, flattened and concatenated into one vector (a copy, no graph)."""
    arrays = [p.data.reshape(-1) for p in parameters]
    if not arrays:
        raise ValueError("parameters_to_vector: no parameters")
    return Tensor(array_module(arrays[0]).concatenate(arrays))


def vector_to_parameters(vector: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vector`` into the parameters, in place (the inverse of
    :func:`parameters_to_vector`); its length must be their total size."""
    parameters = list(parameters)
    values = vector.data if isinstance(vector, Tensor) else vector
    total = sum(p.size for p in parameters)
    if values.ndim != 1 or values.size != total:
        raise ValueError(f"vector_to_parameters: expected a vector of {total} elements, got shape {values.shape}")
    start = 0
    for p in parameters:
        p.data[...] = values[start:start + p.size].reshape(p.shape)
        start += p.size
