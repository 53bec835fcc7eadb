"""Layers that change an image's size without parameters: ZeroPad2d and Upsample."""
from __future__ import annotations

from ..ops import resize, shape
from ..tensor import Tensor
from .module import Module


class ZeroPad2d(Module):
    """Zeros around the last two axes: ``padding`` an int, or (left, right, top, bottom) as PyTorch.
    x: (*, H, W) → (*, H + top + bottom, W + left + right)."""

    def __init__(self, padding):
        super().__init__()
        self.padding = (padding,) * 4 if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != 4:
            raise ValueError(f"ZeroPad2d: padding must be an int or (left, right, top, bottom), got {padding!r}")

    def as_function(self):
        left, right, top, bottom = self.padding
        return shape.PadLastAxes(((top, bottom), (left, right))), ()

    def extra_repr(self) -> str:
        return f"padding={self.padding}"


class Upsample(Module):
    """Resize images by ``scale_factor`` or to ``size`` (PyTorch's ``nn.Upsample``): mode "nearest"
    or "bilinear". x: (N, C, H, W) → (N, C, H_out, W_out)."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None):
        super().__init__()
        self.size, self.scale_factor, self.mode, self.align_corners = size, scale_factor, mode, align_corners

    def forward(self, x: Tensor) -> Tensor:
        return resize.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}" if self.size is None else f"size={self.size}"
