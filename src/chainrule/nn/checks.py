"""Input checks shared by the layers that own parameters."""
from __future__ import annotations

import numpy

from ..tensor import Tensor


def check_dtype(layer: str, x: Tensor, dtype) -> None:
    """A float32 layer fed float64 (or integer) input would silently upcast, or fail
    deep inside backward; say so at the call instead."""
    if x.dtype == dtype:
        return
    if x.dtype.kind != "f":
        # Parameters are floating: the input must be cast, never the layer built in its dtype.
        raise TypeError(
            f"{layer}: expected {dtype} input (the dtype of its parameters), got {x.dtype}; "
            f"convert it to floats first (data.ToFloat() for images, or x.astype('{dtype}'))"
        )
    raise TypeError(
        f"{layer}: expected {dtype} input (the dtype of its parameters), got {x.dtype}; "
        f"cast the input with .astype() or build the layer with dtype={x.dtype}"
    )


def check_size(layer: str, name: str, value, minimum: int = 1) -> int:
    """``value`` as a size of ``layer`` (``Linear``, ``Conv2d`` ...): an integer of at least
    ``minimum``, else a ValueError (TypeError for a non-integer) naming the layer and argument."""
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)):
        raise TypeError(f"{layer}: {name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{layer}: {name} must be at least {minimum}, got {value}")
    return int(value)
