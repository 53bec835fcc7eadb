"""Sliding windows over images: the geometry shared by convolution and pooling.

Convolution runs as one matrix product on an "im2col" matrix whose columns are the
input windows. Its memory layout is chosen for NumPy's speed: channels first and
the batch axis last, (C, H, W, N). In that layout the pixels one kernel offset
(i, j) touches form contiguous runs of W_out·N numbers (N at strides above 1), so
the im2col copy and its adjoint, col2im, move long runs instead of rows of a few
pixels: 3× and 2× faster than in (N, C, H, W) order (N = 128, 32 channels of 14×14,
3×3 kernel). Results go back to callers as (N, C, H, W) *views* of that memory: the
next convolution then finds its input already in the order it wants, and
elementwise ops in between keep it (NumPy ufuncs preserve their inputs' order).
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy

from ..backend import array_module
from ..errors import ShapeError
from .layout import full_in_layout_of


def pair(value, op: str, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints as (height, width), each at least ``minimum``."""
    values = (value, value) if isinstance(value, (int, numpy.integer)) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, (int, numpy.integer)) for v in values):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(values) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value!r}")
    return int(values[0]), int(values[1])


def check_image(x, op: str) -> None:
    """Raise ShapeError unless x is a batch of images (N, C, H, W)."""
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W), got shape {x.shape}")


def output_hw(op: str, in_hw, kernel, stride, padding, dilation=(1, 1)) -> tuple[int, int]:
    """(H_out, W_out) with H_out = ⌊(H + 2·pad − dil·(k − 1) − 1) / stride⌋ + 1."""
    out = []
    for axis, size, k, s, p, d in zip("HW", in_hw, kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        if size + 2 * p < span:
            raise ShapeError(
                f"{op}: expected {axis} ≥ {span - 2 * p} for a window of {span} pixels (kernel {k}, "
                f"dilation {d}) with padding {p}, got an input of spatial size {tuple(in_hw)}"
            )
        out.append((size + 2 * p - span) // s + 1)
    return out[0], out[1]


def kernel_offsets(kernel, stride, dilation, out_hw) -> Iterator[tuple[int, slice, slice]]:
    """For each kernel offset (i, j) in scan order, its flat index i·kW + j and the
    row and column slices of the padded input that offset sees across all windows."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
        for j in range(kw):
            yield i * kw + j, rows, slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)


def pad_spatial(x, padding, fill):
    """x (N, C, H, W) with ``fill`` around its last two axes, in x's memory order."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    padded = full_in_layout_of(x, (n, c, h + 2 * ph, w + 2 * pw), fill)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    return padded


def to_channels_batch_last(x, padding):
    """x (N, C, H, W) → contiguous (C, H + 2·pad_h, W + 2·pad_w, N), zero-padded
    (no copy when x is already such a view and there is no padding)."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return array_module(x).ascontiguousarray(x.transpose(1, 2, 3, 0))
    n, c, h, w = x.shape
    padded = array_module(x).zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
    padded[:, ph:ph + h, pw:pw + w, :] = x.transpose(1, 2, 3, 0)
    return padded


def im2col(padded, kernel, stride, dilation, out_hw, groups: int = 1, ones_row: bool = False):
    """padded: (C, H_p, W_p, N) contiguous → cols: (groups, C_g·kH·kW (+ 1), H_out·W_out·N),
    a new array (callers may overwrite it), C_g = C / groups, with
    cols[g, (c, i, j), (p, q, n)] = padded[g·C_g + c, p·s_h + i·d_h, q·s_w + j·d_w, n]
    and, with ``ones_row``, a last row of ones in each group: a product [W | b]·cols
    then adds the bias b inside the GEMM, and cols·dYᵀ ends in the row Σ dy = db."""
    c, _, _, n = padded.shape
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    windows = _windows(padded, (c, kh, kw, ho, wo, n), (1, dh, dw, sh, sw, 1), (0, 1, 2, 1, 2, 3))
    rows = c // groups * kh * kw
    cols = array_module(padded).empty((groups, rows + ones_row, ho * wo * n), dtype=padded.dtype)
    # Splitting axes, so the reshape is a view of cols that the copy fills.
    cols[:, :rows].reshape(groups, c // groups, kh, kw, ho, wo, n)[...] = windows.reshape(
        groups, c // groups, kh, kw, ho, wo, n)
    if ones_row:
        cols[:, rows] = 1
    return cols


def _windows(array, shape: tuple, steps: tuple, axes: tuple):
    """A strided view of ``array``: axis i of the view steps ``steps[i]`` elements along the
    array's axis ``axes[i]``. Read-only where NumPy allows it (CuPy has no read-only arrays)."""
    strides = tuple(array.strides[axis] * step for axis, step in zip(axes, steps))
    xp = array_module(array)
    if xp is numpy:
        return numpy.lib.stride_tricks.as_strided(array, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(array, shape, strides)


def col2im(cols, padded_shape, kernel, stride, dilation, out_hw):
    """The adjoint of :func:`im2col` (without ones): add every entry of cols
    (groups, C_g·kH·kW, H_out·W_out·N) onto the pixel of a zero (C, H_p, W_p, N) array
    it was copied from."""
    c, _, _, n = padded_shape
    (kh, kw), (ho, wo) = kernel, out_hw
    cols = cols.reshape(c, kh * kw, ho, wo, n)
    padded = array_module(cols).zeros(padded_shape, dtype=cols.dtype)
    for k, rows, columns in kernel_offsets(kernel, stride, dilation, out_hw):
        padded[:, rows, columns, :] += cols[:, k]
    return padded
