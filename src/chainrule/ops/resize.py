"""Resizing images: ``interpolate`` (nearest and bilinear, as PyTorch's ``F.interpolate``), composed
of indexing (``getitem``, whose gradient scatters back) and weighted sums, so its backward and
second order are theirs.

Shapes: x: (N, C, H, W) → (N, C, H_out, W_out).
"""
from __future__ import annotations

import math

import numpy

from ..backend import array_module
from ..errors import ShapeError
from ..tensor import Tensor
from .registry import public
from .shape import GetItem


def _output_size(x: Tensor, size, scale_factor) -> tuple[tuple[int, int], tuple[float, float]]:
    """(H_out, W_out) and the scale in each axis, from ``size`` or ``scale_factor`` (exactly one)."""
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        out = (size, size) if isinstance(size, int) else tuple(size)
        return out, tuple(o / n for o, n in zip(out, x.shape[2:]))
    scales = (scale_factor, scale_factor) if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
    return tuple(int(math.floor(n * s)) for n, s in zip(x.shape[2:], scales)), scales


def _nearest_sources(n_in: int, n_out: int, scale: float, xp):
    """PyTorch's "nearest": output i reads input ⌊i / scale⌋ (clamped)."""
    return xp.asarray(numpy.minimum(numpy.floor(numpy.arange(n_out) / scale).astype(numpy.int64), n_in - 1))


def _bilinear_sources(n_in: int, n_out: int, scale: float, align_corners: bool):
    """(lower index, upper index, weight of the upper) per output position, as PyTorch computes them."""
    positions = numpy.arange(n_out, dtype=numpy.float64)
    if align_corners:
        source = positions * ((n_in - 1) / (n_out - 1)) if n_out > 1 else positions * 0
    else:
        source = numpy.maximum((positions + 0.5) / scale - 0.5, 0.0)
    lower = numpy.minimum(numpy.floor(source).astype(numpy.int64), n_in - 1)
    upper = numpy.minimum(lower + 1, n_in - 1)
    return lower, upper, source - lower


@public()
def interpolate(x: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None) -> Tensor:
    """Resize the last two axes (PyTorch's ``F.interpolate`` for images): ``mode`` "nearest" or
    "bilinear" (``align_corners`` as PyTorch's, False by default)."""
    if x.ndim != 4:
        raise ShapeError(f"interpolate: expected input (N, C, H, W), got shape {x.shape}")
    (h_out, w_out), (sh, sw) = _output_size(x, size, scale_factor)
    xp = array_module(x.data)
    h, w = x.shape[2:]
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError("interpolate: align_corners applies to bilinear mode only")
        rows, columns = _nearest_sources(h, h_out, sh, xp), _nearest_sources(w, w_out, sw, xp)
        return GetItem((slice(None), slice(None), rows[:, None], columns[None, :]), xp)(x)
    if mode != "bilinear":
        raise ValueError(f"interpolate: mode must be 'nearest' or 'bilinear', got {mode!r}")
    r0, r1, fr = _bilinear_sources(h, h_out, sh, bool(align_corners))
    c0, c1, fc = _bilinear_sources(w, w_out, sw, bool(align_corners))

    def pick(rows, columns):
        return GetItem((slice(None), slice(None), xp.asarray(rows)[:, None], xp.asarray(columns)[None, :]), xp)(x)

    fr = Tensor(xp.asarray(fr.reshape(-1, 1), dtype=x.dtype))
    fc = Tensor(xp.asarray(fc.reshape(1, -1), dtype=x.dtype))
    top = pick(r0, c0) * (1.0 - fc) + pick(r0, c1) * fc
    bottom = pick(r1, c0) * (1.0 - fc) + pick(r1, c1) * fc
    return top * (1.0 - fr) + bottom * fr
