"""Pooling over 2-D windows: max, average, and global (adaptive 1×1) average.

Each op loops over the kH·kW kernel offsets; one offset's pixels across every window
are one strided slice of the (padded) input, so each step is a whole-array NumPy
operation, in whatever memory order the input has.
"""
from __future__ import annotations

import numpy

from .. import backend
from ..errors import ShapeError
from ..tensor import Function
from .im2col import check_image, full_in_layout_of, kernel_offsets, output_hw, pad_spatial, pair
from .registry import register


def pool_geometry(op: str, kernel_size, stride=None, padding=0) -> tuple:
    """(kernel, stride, padding) as (height, width) pairs; stride defaults to the kernel.
    Raises ValueError for values PyTorch rejects too."""
    kernel = pair(kernel_size, op, "kernel_size", 1)
    stride = kernel if stride is None else pair(stride, op, "stride", 1)
    padding = pair(padding, op, "padding", 0)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(
            f"{op}: padding {padding} must be at most half the kernel size {kernel}, "
            f"so that no window lies entirely in the padding"
        )
    return kernel, stride, padding


def check_global_output_size(output_size) -> None:
    """Raise ValueError unless output_size asks for global pooling (1 or (1, 1))."""
    if output_size not in (1, (1, 1), [1, 1]):
        raise ValueError(
            f"adaptive_avg_pool2d: only output_size=1 (global average pooling) is supported, got {output_size!r}"
        )


class _Pool2d(Function):
    """Window geometry shared by max and average pooling (no dilation, floor mode)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel, self.stride, self.padding = pool_geometry(self.op_name, kernel_size, stride, padding)

    def _windows(self, x):
        """Record the geometry for x (N, C, H, W); yield (k, rows, columns) per kernel offset."""
        check_image(x, self.op_name)
        self.x_shape = x.shape
        self.out_hw = output_hw(self.op_name, x.shape[2:], self.kernel, self.stride, self.padding)
        return kernel_offsets(self.kernel, self.stride, (1, 1), self.out_hw)

    def _scatter(self, dy, contribution):
        """dx (N, C, H, W): Σ over kernel offsets k of contribution(k) added at the pixels k saw."""
        n, c, h, w = self.x_shape
        ph, pw = self.padding
        dx_padded = full_in_layout_of(dy, (n, c, h + 2 * ph, w + 2 * pw), 0)
        for k, rows, columns in kernel_offsets(self.kernel, self.stride, (1, 1), self.out_hw):
            dx_padded[:, :, rows, columns] += contribution(k)
        return dx_padded[:, :, ph:ph + h, pw:pw + w]


@register("max_pool2d")
class MaxPool2d(_Pool2d):
    """y[n, c, p, q] = max of x over the window at (p·s_h − pad_h, q·s_w − pad_w) of size kH×kW
    (padding never wins). As in PyTorch, the window is scanned row by row and the first
    maximal element takes the gradient; a NaN wins over any number.

    x: (N, C, H, W) → y: (N, C, H_out, W_out), H_out = ⌊(H + 2·pad_h − kH) / s_h⌋ + 1.
    """

    formula = "dx = dy routed to the argmax of each window"

    def forward(self, x):
        xp = backend.xp
        padded = pad_spatial(x, self.padding, -numpy.inf)
        windows = [(k, padded[:, :, rows, columns]) for k, rows, columns in self._windows(x)]
        if not self.needs_input_grad[0]:
            best = xp.copy(windows[0][1], order="K")
            for _, window in windows[1:]:
                xp.maximum(best, window, out=best)
            return best
        best = xp.full_like(windows[0][1], -numpy.inf)
        argmax = xp.empty_like(best, dtype=numpy.min_scalar_type(self.kernel[0] * self.kernel[1] - 1))
        argmax[...] = self._first_valid_offsets()
        for k, window in windows:
            # PyTorch's rule: take the element if it is strictly greater, or NaN.
            better = window > best
            better |= xp.isnan(window)
            # Branch-free updates (masked copies are several times slower on random masks):
            # maximum() propagates NaN as the rule does, and k exceeds every earlier offset.
            xp.maximum(best, window, out=best)
            xp.maximum(argmax, better * argmax.dtype.type(k), out=argmax)
        self.argmax = argmax
        return best

    def _first_valid_offsets(self):
        """(H_out, W_out): the offset of each window's first pixel inside the input,
        where PyTorch starts (and stays, when every value is −inf)."""
        xp = backend.xp
        (ho, wo), (sh, sw), (ph, pw) = self.out_hw, self.stride, self.padding
        first_row = xp.maximum(ph - xp.arange(ho) * sh, 0)
        first_column = xp.maximum(pw - xp.arange(wo) * sw, 0)
        return first_row[:, None] * self.kernel[1] + first_column[None, :]

    def backward(self, dy):
        # y = x[argmax of the window]  ⇒  dx[argmax] += dy, zero elsewhere
        xp = backend.xp
        if xp.isfinite(dy).all():
            # Branch-free, 10× faster than where() on random masks; but 0·inf would be NaN.
            return (self._scatter(dy, lambda k: dy * (self.argmax == k)),)
        return (self._scatter(dy, lambda k: xp.where(self.argmax == k, dy, 0)),)


@register("avg_pool2d")
class AvgPool2d(_Pool2d):
    """y[n, c, p, q] = mean of x over the zero-padded window at (p·s_h − pad_h, q·s_w − pad_w).

    With count_include_pad=True (PyTorch's default) every window divides by kH·kW;
    otherwise by the number of its pixels inside the input.
    x: (N, C, H, W) → y: (N, C, H_out, W_out), H_out = ⌊(H + 2·pad_h − kH) / s_h⌋ + 1.
    """

    formula = "dx = dy/m spread over each window of m pixels"

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = count_include_pad

    def forward(self, x):
        offsets = self._windows(x)
        padded = pad_spatial(x, self.padding, 0)
        windows = (padded[:, :, rows, columns] for _, rows, columns in offsets)
        total = backend.xp.copy(next(windows), order="K")
        for window in windows:
            total += window
        self.inverse_count = self._inverse_count(x.dtype)
        total *= self.inverse_count
        return total

    def _inverse_count(self, dtype):
        """1 / (pixels each window divides by): a number, or (H_out, W_out) of x's dtype."""
        if self.count_include_pad:
            return 1.0 / (self.kernel[0] * self.kernel[1])
        xp = backend.xp
        counts = []
        for size, out, k, s, p in zip(self.x_shape[2:], self.out_hw, self.kernel, self.stride, self.padding):
            start = xp.arange(out) * s - p
            counts.append(xp.minimum(start + k, size) - xp.maximum(start, 0))
        return (1.0 / (counts[0][:, None] * counts[1][None, :])).astype(dtype)

    def backward(self, dy):
        # y = (1/m)·Σ_window x  ⇒  every pixel of the window gets dy/m
        share = dy * self.inverse_count
        return (self._scatter(dy, lambda k: share),)


@register("adaptive_avg_pool2d")
class AdaptiveAvgPool2d(Function):
    """Global average pooling: y[n, c, 0, 0] = mean of x[n, c] over H×W.

    Only output_size 1 (or (1, 1)) is supported. x: (N, C, H, W) → y: (N, C, 1, 1).
    """

    formula = "dx = dy/(H·W) at every pixel"

    def __init__(self, output_size=1):
        check_global_output_size(output_size)

    def forward(self, x):
        check_image(x, "adaptive_avg_pool2d")
        if x.shape[2] * x.shape[3] == 0:
            raise ShapeError(f"adaptive_avg_pool2d: expected a non-empty image, got input {x.shape}")
        self.x_shape = x.shape
        return x.mean(axis=(2, 3), keepdims=True)

    def backward(self, dy):
        # y = (1/(H·W))·Σ_{h,w} x  ⇒  dx = dy/(H·W) at every pixel
        h, w = self.x_shape[2:]
        return (backend.xp.broadcast_to(dy * (1.0 / (h * w)), self.x_shape),)
