"""Operators and methods of Tensor, each a call into ``functional``.

They are attached here, not in tensor.py, because tensor.py sits below ops/ and
must not import it.
"""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F


def _swap(function):
    """The reflected operator: ``2 - x`` calls ``x.__rsub__(2)``, i.e. sub(2, x)."""
    return lambda self, other: function(other, self)


METHODS = {
    "__add__": F.add,
    "__radd__": _swap(F.add),
    "__sub__": F.sub,
    "__rsub__": _swap(F.sub),
    "__mul__": F.mul,
    "__rmul__": _swap(F.mul),
    "__truediv__": F.div,
    "__rtruediv__": _swap(F.div),
    "__pow__": F.pow,
    "__rpow__": _swap(F.pow),
    "__matmul__": F.matmul,
    "__rmatmul__": _swap(F.matmul),
    "__neg__": F.neg,
    "__abs__": F.abs,
    "exp": F.exp,
    "log": F.log,
    "sqrt": F.sqrt,
    "abs": F.abs,
    "pow": F.pow,
    "maximum": F.maximum,
    "minimum": F.minimum,
    "clip": F.clip,
    "clamp": F.clip,
    "astype": F.cast,
    "matmul": F.matmul,
    "sum": F.sum,
    "mean": F.mean,
    "max": F.max,
    "min": F.min,
    "logsumexp": F.logsumexp,
    "var": F.var,
    "reshape": F.reshape,
    "view": F.reshape,
    "permute": F.permute,
    "transpose": F.transpose,
    "flatten": F.flatten,
    "broadcast_to": F.broadcast_to,
    "__getitem__": F.getitem,
    "relu": F.relu,
    "leaky_relu": F.leaky_relu,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "gelu": F.gelu,
    "softplus": F.softplus,
    "softmax": F.softmax,
    "log_softmax": F.log_softmax,
}


def _iterate(self: Tensor):
    """Rows along the first axis, each on the graph, as iterating a PyTorch tensor gives."""
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (self[i] for i in range(len(self)))


def install() -> None:
    for name, function in METHODS.items():
        setattr(Tensor, name, function)
    Tensor.__iter__ = _iterate
    Tensor.T = property(lambda self: F.permute(self) if self.ndim > 1 else self)
