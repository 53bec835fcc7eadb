"""Operators and methods of Tensor, each a function of the functional API (see
``registry.public``), attached here and not in tensor.py, because tensor.py sits below
ops/ and must not import it.
"""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .registry import METHODS


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
