"""Moving a tensor between devices (``x.to("cuda")``, ``x.cpu()``), on the graph: the
gradient goes back to where the input lives."""
from __future__ import annotations

import numpy

from .. import backend
from ..tensor import Function, Tensor
from .elementwise import cast
from .registry import public, register


@register("to_device")
class ToDevice(Function):
    """y = x copied to ``device``. x: S → y: S."""

    def __init__(self, device: str):
        self.device = backend.device(device).name

    def forward(self, x):
        self.source = backend.device_of(x)
        return backend.to_device(x, self.device)

    formula = "y = x on another device ⇒ dx = dy moved back to x's device"

    def backward(self, dy):
        return (backend.to_device(dy, self.source),)

    def backward_graph(self, dy):
        return (ToDevice(self.source)(dy),)


def _is_device(value) -> bool:
    return isinstance(value, str) and value.split(":")[0] in ("cpu", "cuda", *backend.device_names())


@public("to", functional=False)
def to(a: Tensor, *args, device: str | None = None, dtype=None) -> Tensor:
    """``a`` on ``device`` and/or in ``dtype`` (PyTorch's ``Tensor.to``: ``x.to("cuda")``,
    ``x.to("float64")``, ``x.to("cuda", "float64")``); ``a`` itself when nothing changes."""
    for arg in args:
        if _is_device(arg):
            device = arg
        else:
            dtype = arg
    if dtype is not None and numpy.dtype(dtype) != a.dtype:
        a = cast(a, dtype) if a.dtype.kind == "f" and numpy.dtype(dtype).kind == "f" else Tensor(a.data.astype(dtype))
    if device is not None and backend.device(device).name != a.device:
        a = ToDevice(device)(a)
    return a


@public("cuda", functional=False)
def cuda(a: Tensor) -> Tensor:
    """``a`` on the GPU (``a.to("cuda")``)."""
    return to(a, "cuda")


@public("cpu", functional=False)
def cpu(a: Tensor) -> Tensor:
    """``a`` in host memory, as NumPy (``a.to("cpu")``)."""
    return to(a, "cpu")


@public("float", functional=False)
def as_float32(a: Tensor) -> Tensor:
    """``a`` in float32 (PyTorch's ``x.float()``)."""
    return to(a, numpy.float32)


@public("double", functional=False)
def as_float64(a: Tensor) -> Tensor:
    """``a`` in float64 (PyTorch's ``x.double()``)."""
    return to(a, numpy.float64)


@public("long", functional=False)
def as_int64(a: Tensor) -> Tensor:
    """``a`` as int64, off the graph (PyTorch's ``x.long()``)."""
    return to(a, numpy.int64)
