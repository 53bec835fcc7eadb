"""Activation layers: each a parameter-free Module around one op."""
from __future__ import annotations

from ..ops import activations
from .module import Module


class ReLU(Module):
    """max(x, 0). x: S → S."""

    def as_function(self):
        return activations.ReLU(), ()


class LeakyReLU(Module):
    """x for x ≥ 0, negative_slope·x below. x: S → S."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def as_function(self):
        return activations.LeakyReLU(self.negative_slope), ()

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + e^(−x)). x: S → S."""

    def as_function(self):
        return activations.Sigmoid(), ()


class Tanh(Module):
    """tanh(x). x: S → S."""

    def as_function(self):
        return activations.Tanh(), ()


class GELU(Module):
    """x·Φ(x), or its tanh approximation with approximate="tanh". x: S → S."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def as_function(self):
        return activations.GELU(self.approximate), ()

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """e^x / Σ e^x along ``dim``. x: S → S."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def as_function(self):
        return activations.Softmax(self.dim), ()

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """x − log Σ e^x along ``dim``. x: S → S."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def as_function(self):
        return activations.LogSoftmax(self.dim), ()

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class SiLU(Module):
    """x·σ(x). x: S → S."""

    def as_function(self):
        return activations.SiLU(), ()


class ELU(Module):
    """x for x > 0, alpha·(eˣ − 1) below. x: S → S."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def as_function(self):
        return activations.ELU(self.alpha), ()

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softplus(Module):
    """log(1 + e^(βx))/β, and x where βx > threshold. x: S → S."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def as_function(self):
        return activations.Softplus(self.beta, self.threshold), ()

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Identity(Module):
    """Its input, unchanged (a placeholder where a layer may go). x: S → S."""

    def as_function(self, *others):
        return None, ()


class Mish(Module):
    """x·tanh(softplus(x)). x: S → S."""

    def as_function(self):
        return activations.Mish(), ()


class Hardswish(Module):
    """x·relu6(x + 3)/6. x: S → S."""

    def as_function(self):
        return activations.Hardswish(), ()


class Hardtanh(Module):
    """x clipped to [min_val, max_val] (no gradient at the bounds, as PyTorch). x: S → S."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val {min_val} is above max_val {max_val}")
        self.min_val, self.max_val = min_val, max_val

    def as_function(self):
        return activations.Hardtanh(self.min_val, self.max_val), ()

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"
