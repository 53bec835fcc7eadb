"""Input checks shared by the layers that own parameters."""
from __future__ import annotations

from ..tensor import Tensor


def check_dtype(layer: str, x: Tensor, dtype) -> None:
    """A float32 layer fed float64 (or integer) input would silently upcast, or fail
    deep inside backward; say so at the call instead."""
    if x.dtype != dtype:
        raise TypeError(
            f"{layer}: expected {dtype} input (the dtype of its parameters), got {x.dtype}; "
            f"cast the input with .astype() or build the layer with dtype={x.dtype}"
        )
