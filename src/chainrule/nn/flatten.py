"""Flatten and Unflatten: merge a range of axes into one, or split one into several."""
from __future__ import annotations

from ..ops import shape
from .module import Module


class Flatten(Module):
    """Merge axes start_dim..end_dim (inclusive). (N, C, H, W) → (N, C·H·W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def as_function(self):
        return shape.Flatten(self.start_dim, self.end_dim), ()

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``sizes``: (N, 784) → (N, 1, 28, 28) with dim=1, sizes=(1, 28, 28)."""

    def __init__(self, dim: int, sizes: tuple[int, ...]):
        super().__init__()
        self.dim = dim
        self.sizes = tuple(sizes)

    def as_function(self):
        return shape.Unflatten(self.dim, self.sizes), ()

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.sizes}"
