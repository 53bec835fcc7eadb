"""Pooling over 2-D windows: max, average, and global (adaptive 1×1) average.

Each op loops over the kH·kW kernel offsets; one offset's pixels across every window
are one strided slice of the (padded) input, so each step is a whole-array NumPy
operation, in whatever memory order the input has.
"""
from __future__ import annotations

import numpy

from .. import kernels
from ..backend import array_module
from ..errors import ShapeError
from ..tensor import Function, Tensor
from .im2col import check_image, kernel_offsets, output_hw, pad_spatial, pair
from .layout import full_in_layout_of, in_order, memory_order
from .registry import public, register
from .shape import GetItemBackward


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
        """Record the geometry and memory order of x (N, C, H, W); yield (k, rows, columns) per kernel offset."""
        check_image(x, self.op_name)
        self._geometry(x.shape, memory_order(x))
        return kernel_offsets(self.kernel, self.stride, (1, 1), self.out_hw)

    def _geometry(self, x_shape: tuple, x_order: tuple) -> None:
        self.x_shape, self.x_order = tuple(x_shape), x_order
        self.out_hw = output_hw(self.op_name, x_shape[2:], self.kernel, self.stride, self.padding)

    def _scatter(self, dy, route):
        """dx (N, C, H, W) in dy's memory order: for each kernel offset k, route(k, out)
        writes into ``out`` (shaped like dy) what offset k sends to the pixels it saw."""
        n, c, h, w = self.x_shape
        ph, pw = self.padding
        dx_padded = full_in_layout_of(dy, (n, c, h + 2 * ph, w + 2 * pw), 0)
        # Windows that do not overlap send to disjoint pixels: each offset writes its
        # slice directly, saving a temporary and a read of dx per offset.
        overlapping = any(s < k for s, k in zip(self.stride, self.kernel))
        share = array_module(dy).empty_like(dy) if overlapping else None
        for k, rows, columns in kernel_offsets(self.kernel, self.stride, (1, 1), self.out_hw):
            target = dx_padded[:, :, rows, columns]
            if overlapping:
                route(k, share)
                target += share
            else:
                route(k, target)
        return dx_padded[:, :, ph:ph + h, pw:pw + w]


def _lowest(dtype):
    """What padding holds in a max, so that it never wins: −∞ for floats, the dtype's smallest
    value for integers (as PyTorch pads them), False for booleans."""
    if dtype.kind == "f":
        return -numpy.inf
    if dtype.kind in "iu":
        return numpy.iinfo(dtype).min
    return False


@register("max_pool2d")
class MaxPool2d(_Pool2d):
    """y[n, c, p, q] = max of x over the window at (p·s_h − pad_h, q·s_w − pad_w) of size kH×kW
    (padding never wins). As in PyTorch, the window is scanned row by row and the first
    maximal element takes the gradient; a NaN wins over any number.

    x: (N, C, H, W) → y: (N, C, H_out, W_out), H_out = ⌊(H + 2·pad_h − kH) / s_h⌋ + 1.
    """

    saved_names = ("argmax",)

    def forward(self, x):
        offsets = self._windows(x)
        pooled = kernels.max_pool(x, self.kernel, self.stride, self.padding, self.out_hw)
        if pooled is not None:
            best, argmax = pooled
            self.save_for_backward(argmax)
            return best
        xp = array_module(x)
        padded = pad_spatial(x, self.padding, _lowest(x.dtype))
        windows = [padded[:, :, rows, columns] for _, rows, columns in offsets]
        best = xp.copy(windows[0], order="K")
        if not self.needs_input_grad[0]:
            for window in windows[1:]:
                xp.maximum(best, window, out=best)
            return best
        argmax = self._argmax(windows, best, nan_wins=False)
        # maximum() propagates NaN, so a NaN in any window shows in best: only then
        # is the scan redone under the NaN rule, which costs two more passes per offset.
        if xp.isnan(best).any():
            best = xp.copy(windows[0], order="K")
            argmax = self._argmax(windows, best, nan_wins=True)
        self.save_for_backward(argmax)
        return best

    def _argmax(self, windows: list, best, nan_wins: bool):
        """Scan the windows after the first, raising ``best`` (which starts as the first)
        to their maximum in place; return the kernel offset each output took its value from."""
        xp = array_module(best)
        argmax = xp.empty_like(best, dtype=numpy.min_scalar_type(self.kernel[0] * self.kernel[1] - 1))
        argmax[...] = self._first_valid_offsets(xp)
        better = xp.empty_like(best, dtype=bool)
        marked = xp.empty_like(argmax)
        for k, window in enumerate(windows[1:], 1):
            # PyTorch's rule: take the element if it is strictly greater, or NaN.
            xp.greater(window, best, out=better)
            if nan_wins:
                better |= xp.isnan(window)
            xp.maximum(best, window, out=best)
            # Branch-free (masked copies are several times slower on random masks):
            # k exceeds every earlier offset, so argmax = max(argmax, k·better).
            xp.multiply(better, marked.dtype.type(k), out=marked)
            xp.maximum(argmax, marked, out=argmax)
        return argmax

    def _first_valid_offsets(self, xp):
        """(H_out, W_out): the offset of each window's first pixel inside the input,
        where PyTorch starts (and stays, when every value is −inf)."""
        (ho, wo), (sh, sw), (ph, pw) = self.out_hw, self.stride, self.padding
        first_row = xp.maximum(ph - xp.arange(ho) * sh, 0)
        first_column = xp.maximum(pw - xp.arange(wo) * sw, 0)
        return first_row[:, None] * self.kernel[1] + first_column[None, :]

    formula = "y = x at the argmax of each window ⇒ dx = dy routed to the argmax of each window"

    def backward(self, dy):
        (argmax,) = self.saved_tensors
        xp = array_module(dy)
        dy = in_order(dy, self.x_order)
        dx = kernels.max_pool_backward(dy, argmax, self.x_shape, self.kernel, self.stride, self.padding)
        if dx is not None:
            return (dx,)
        if xp.isfinite(dy).all():
            # Branch-free, 10× faster than where() on random masks; but 0·inf would be NaN.
            return (self._scatter(dy, lambda k, out: xp.multiply(dy, argmax == k, out=out)),)
        return (self._scatter(dy, lambda k, out: xp.copyto(out, xp.where(argmax == k, dy, 0))),)

    def backward_graph(self, dy):
        # dy goes to one input pixel per output, the argmax: a scatter by index, constant in x
        (argmax,) = self.saved_tensors
        xp = array_module(dy.data)
        n, c, h, w = self.x_shape
        (ho, wo), (sh, sw), (ph, pw), kw = self.out_hw, self.stride, self.padding, self.kernel[1]
        rows = xp.arange(ho)[:, None] * sh - ph + argmax // kw
        columns = xp.arange(wo)[None, :] * sw - pw + argmax % kw
        planes = xp.arange(n * c).reshape(n, c, 1, 1)
        flat = ((planes * h + rows) * w + columns).reshape(-1)
        return (GetItemBackward((n * c * h * w,), flat)(dy.reshape(-1)).reshape(self.x_shape),)


@register("avg_pool2d")
class AvgPool2d(_Pool2d):
    """y[n, c, p, q] = mean of x over the zero-padded window at (p·s_h − pad_h, q·s_w − pad_w).

    With count_include_pad=True (PyTorch's default) every window divides by kH·kW;
    otherwise by the number of its pixels inside the input.
    x: (N, C, H, W) → y: (N, C, H_out, W_out), H_out = ⌊(H + 2·pad_h − kH) / s_h⌋ + 1.
    """

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = count_include_pad

    saved_names = ("inverse_count",)

    def forward(self, x):
        offsets = self._windows(x)
        padded = pad_spatial(x, self.padding, 0)
        windows = (padded[:, :, rows, columns] for _, rows, columns in offsets)
        xp = array_module(x)
        total = xp.copy(next(windows), order="K")
        for window in windows:
            total += window
        inverse_count = self._inverse_count(x.dtype, xp)
        self.save_for_backward(inverse_count)
        total *= inverse_count
        return total

    def _inverse_count(self, dtype, xp):
        """1 / (pixels each window divides by): a number, or (H_out, W_out) of x's dtype."""
        if self.count_include_pad:
            return 1.0 / (self.kernel[0] * self.kernel[1])
        counts = []
        for size, out, k, s, p in zip(self.x_shape[2:], self.out_hw, self.kernel, self.stride, self.padding):
            start = xp.arange(out) * s - p
            counts.append(xp.minimum(start + k, size) - xp.maximum(start, 0))
        return (1.0 / (counts[0][:, None] * counts[1][None, :])).astype(dtype)

    formula = "y = (1/m)·Σ_window x ⇒ dx = dy/m spread over each window of m pixels"

    def backward(self, dy):
        (inverse_count,) = self.saved_tensors
        share = in_order(dy, self.x_order) * inverse_count
        return (self._scatter(share, lambda k, out: array_module(dy).copyto(out, share)),)

    def settings(self) -> tuple:
        return self.kernel, self.stride, self.padding, self.count_include_pad

    def backward_graph(self, dy):
        return (AvgPool2dBackward(self.settings(), self.x_shape, self.x_order)(dy),)


@register("avg_pool2d_backward")
class AvgPool2dBackward(Function):
    """avg_pool2d's gradient as an op of its own: gy spread over each window, divided by its
    size. Linear in gy, and the adjoint of avg_pool2d, whose forward is therefore its gradient.
    gy: (N, C, H_out, W_out) → y: x_shape."""

    def __init__(self, settings: tuple, x_shape: tuple, x_order: tuple):
        self.pool_settings, self.x_shape, self.x_order = settings, tuple(x_shape), x_order

    def forward(self, gy):
        pool = AvgPool2d(*self.pool_settings)
        pool._geometry(self.x_shape, self.x_order)
        pool.save_for_backward(pool._inverse_count(gy.dtype, array_module(gy)))
        return pool.backward(gy)[0]

    formula = "y = gy/m spread over each window of m pixels ⇒ dgy = avg_pool2d(dy)"

    def backward(self, dy):
        return (AvgPool2d(*self.pool_settings).forward(dy),)

    def backward_graph(self, dy):
        return (AvgPool2d(*self.pool_settings)(dy),)


@register("adaptive_avg_pool2d")
class AdaptiveAvgPool2d(Function):
    """Global average pooling: y[n, c, 0, 0] = mean of x[n, c] over H×W.

    Only output_size 1 (or (1, 1)) is supported. x: (N, C, H, W) → y: (N, C, 1, 1).
    """

    def __init__(self, output_size=1):
        check_global_output_size(output_size)

    def forward(self, x):
        check_image(x, "adaptive_avg_pool2d")
        if x.shape[2] * x.shape[3] == 0:
            raise ShapeError(f"adaptive_avg_pool2d: expected a non-empty image, got input {x.shape}")
        self.x_shape = x.shape
        return x.mean(axis=(2, 3), keepdims=True)

    formula = "y = (1/(H·W))·Σ_{h,w} x ⇒ dx = dy/(H·W) at every pixel"

    def backward(self, dy):
        h, w = self.x_shape[2:]
        return (array_module(dy).broadcast_to(dy * (1.0 / (h * w)), self.x_shape),)

    def backward_graph(self, dy):
        h, w = self.x_shape[2:]
        return ((dy * (1.0 / (h * w))).broadcast_to(self.x_shape),)


@public()
def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Max over kernel_size windows (stride defaults to kernel_size). x: (N, C, H, W)."""
    return MaxPool2d(kernel_size, stride, padding)(x)


@public()
def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0, count_include_pad: bool = True) -> Tensor:
    """Mean over kernel_size windows (stride defaults to kernel_size). x: (N, C, H, W)."""
    return AvgPool2d(kernel_size, stride, padding, count_include_pad)(x)


@public()
def adaptive_avg_pool2d(x: Tensor, output_size=1) -> Tensor:
    """Global average pooling, (N, C, H, W) → (N, C, 1, 1); only output_size=1 is supported."""
    return AdaptiveAvgPool2d(output_size)(x)


def _pair_of_one(value, name: str):
    """A 1-d pooling setting (an int, or a 1-tuple as PyTorch also takes) as its 2-d form on a height of 1."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"pool1d: {name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return value


def _on_a_row(x: Tensor, op: str) -> Tensor:
    if x.ndim != 3:
        raise ShapeError(f"{op}: expected input (N, C, L), got shape {x.shape}")
    return x.unsqueeze(2)


@public()
def max_pool1d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Max over windows along the last axis: max_pool2d on a height of 1. x: (N, C, L) → (N, C, L_out)."""
    k = _pair_of_one(kernel_size, "kernel_size")
    s = k if stride is None else _pair_of_one(stride, "stride")
    return MaxPool2d((1, k), (1, s), (0, _pair_of_one(padding, "padding")))(_on_a_row(x, "max_pool1d")).squeeze(2)


@public()
def avg_pool1d(x: Tensor, kernel_size, stride=None, padding=0, count_include_pad: bool = True) -> Tensor:
    """Mean over windows along the last axis: avg_pool2d on a height of 1. x: (N, C, L) → (N, C, L_out)."""
    k = _pair_of_one(kernel_size, "kernel_size")
    s = k if stride is None else _pair_of_one(stride, "stride")
    pool = AvgPool2d((1, k), (1, s), (0, _pair_of_one(padding, "padding")), count_include_pad)
    return pool(_on_a_row(x, "avg_pool1d")).squeeze(2)
