"""Activation layers: each a parameter-free Module around one op."""
from __future__ import annotations

from ..ops import activations
from ..ops import functional as F
from ..tensor import Tensor
from .module import Module


class ReLU(Module):
    """max(x, 0). x: S → S."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)

    def as_function(self):
        return activations.ReLU(), ()


class LeakyReLU(Module):
    """x for x ≥ 0, negative_slope·x below. x: S → S."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def as_function(self):
        return activations.LeakyReLU(self.negative_slope), ()

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + e^(−x)). x: S → S."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)

    def as_function(self):
        return activations.Sigmoid(), ()


class Tanh(Module):
    """tanh(x). x: S → S."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)

    def as_function(self):
        return activations.Tanh(), ()


class GELU(Module):
    """x·Φ(x), or its tanh approximation with approximate="tanh". x: S → S."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def as_function(self):
        return activations.GELU(self.approximate), ()

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """e^x / Σ e^x along ``dim``. x: S → S."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, axis=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
