"""Parameter initialisation, in place, as in ``torch.nn.init``.

Values are drawn in float64 from chainrule's seeded generator (or ``generator=``)
and then cast to the tensor's dtype, so a float32 and a float64 model built after
the same ``manual_seed`` start from the same numbers.

Fans follow PyTorch: for a weight of shape (out, in, *kernel), fan_in = in·Πkernel
and fan_out = out·Πkernel.
"""
from __future__ import annotations

import math

import numpy

from .. import backend
from ..random import default_generator
from ..tensor import Tensor

_GAINS = {
    "linear": 1.0, "identity": 1.0, "sigmoid": 1.0,
    "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0,
    "conv_transpose1d": 1.0, "conv_transpose2d": 1.0, "conv_transpose3d": 1.0,
    "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "selu": 3.0 / 4.0,
}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (``param``: leaky_relu's negative slope)."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope * slope))
    if nonlinearity not in _GAINS:
        raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; expected leaky_relu or one of {sorted(_GAINS)}")
    return _GAINS[nonlinearity]


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight with at least two dimensions."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, got shape {tensor.shape}")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values) -> Tensor:
    tensor.data[...] = backend.array_module(tensor.data).asarray(values, dtype=tensor.dtype)
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: numpy.random.Generator | None = None) -> Tensor:
    """Fill with samples from U(a, b)."""
    return _fill(tensor, (generator or default_generator()).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: numpy.random.Generator | None = None) -> Tensor:
    """Fill with samples from N(mean, std²)."""
    return _fill(tensor, (generator or default_generator()).normal(mean, std, tensor.shape))


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: numpy.random.Generator | None = None) -> Tensor:
    """Glorot: U(−a, a) with a = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: numpy.random.Generator | None = None) -> Tensor:
    """Glorot: N(0, std²) with std = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: numpy.random.Generator | None = None) -> Tensor:
    """He: U(−b, b) with b = gain·√(3 / fan); ``a`` is leaky_relu's negative slope."""
    if tensor.size == 0:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: numpy.random.Generator | None = None) -> Tensor:
    """He: N(0, std²) with std = gain / √fan; ``a`` is leaky_relu's negative slope."""
    if tensor.size == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)
