"""Pooling layers: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d (global average), and MaxPool1d
and AvgPool1d (the 2-d ops on a height of 1)."""
from __future__ import annotations

from ..ops import pooling
from ..ops.pooling import check_global_output_size, pool_geometry
from ..tensor import Tensor
from .module import Module


class MaxPool2d(Module):
    """Max over kernel_size windows, moved by stride (default: kernel_size), over an
    input padded by ``padding`` that never wins. x: (N, C, H, W) → (N, C, H_out, W_out)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        pool_geometry("MaxPool2d", kernel_size, stride, padding)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def as_function(self):
        return pooling.MaxPool2d(self.kernel_size, self.stride, self.padding), ()

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over kernel_size windows, moved by stride (default: kernel_size), over a
    zero-padded input; count_include_pad=False divides by the pixels inside the input
    only. x: (N, C, H, W) → (N, C, H_out, W_out)."""

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad: bool = True):
        super().__init__()
        pool_geometry("AvgPool2d", kernel_size, stride, padding)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.count_include_pad = count_include_pad

    def as_function(self):
        return pooling.AvgPool2d(self.kernel_size, self.stride, self.padding, self.count_include_pad), ()

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"count_include_pad={self.count_include_pad}")


class AdaptiveAvgPool2d(Module):
    """Global average pooling, (N, C, H, W) → (N, C, 1, 1); only output_size=1 is supported."""

    def __init__(self, output_size=1):
        super().__init__()
        check_global_output_size(output_size)
        self.output_size = output_size

    def as_function(self):
        return pooling.AdaptiveAvgPool2d(self.output_size), ()

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxPool1d(Module):
    """Max over windows along the last axis. x: (N, C, L) → (N, C, L_out)."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return pooling.max_pool1d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(Module):
    """Mean over windows along the last axis. x: (N, C, L) → (N, C, L_out)."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0, count_include_pad: bool = True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return pooling.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
