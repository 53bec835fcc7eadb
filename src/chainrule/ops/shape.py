"""Ops that move, select, repeat or surround elements without changing them:
their backward moves the gradient back to where each element came from (summing
where one element went to several places).
"""
from __future__ import annotations

import numpy

from .. import backend
from ..broadcast import sum_to
from ..errors import ShapeError
from ..tensor import Function, Tensor
from .reductions import normalize_axes
from .registry import register


@register("reshape")
class Reshape(Function):
    """x: S → y: shape (one entry may be -1), same number of elements."""

    formula = "dx = dy reshaped to x's shape"

    def __init__(self, shape: tuple):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot reshape an input of shape {x.shape} ({x.size} elements) into {self.shape}"
            ) from None

    def backward(self, dy):
        # y = reshape(x)  ⇒  dx = reshape(dy) back to x's shape
        return (dy.reshape(self.x_shape),)


@register("permute")
class Permute(Function):
    """x: (d_0, …, d_k) → y: (d_axes[0], …, d_axes[k]); axes=None reverses them."""

    formula = "dx = permute(dy, p⁻¹)"

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, x):
        ndim = x.ndim
        axes = tuple(reversed(range(ndim))) if self.axes is None else self.axes
        if len(axes) != ndim or sorted(a % ndim for a in axes) != list(range(ndim)):
            raise ValueError(f"permute: {self.axes} is not a permutation of the {x.ndim} axes of {x.shape}")
        self.axes = tuple(a % ndim for a in axes)
        return x.transpose(self.axes)

    def backward(self, dy):
        # y = permute(x, p)  ⇒  dx = permute(dy, p⁻¹)
        inverse = numpy.argsort(self.axes)
        return (dy.transpose(tuple(int(i) for i in inverse)),)


@register("broadcast_to")
class BroadcastTo(Function):
    """x: S → y: shape, where S broadcasts to shape by NumPy's rules (a read-only view)."""

    formula = "dx = dy summed over the broadcast axes"

    def __init__(self, shape: tuple):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return backend.xp.broadcast_to(x, self.shape)
        except ValueError:
            raise ShapeError(f"broadcast_to: cannot broadcast an input of shape {x.shape} to {self.shape}") from None

    def backward(self, dy):
        # y = x repeated along the broadcast axes  ⇒  dx = dy summed over those axes
        return (sum_to(dy, self.x_shape),)


def as_array_index(index):
    """An index for ``x[index]`` with Tensors replaced by their arrays and lists by
    integer or boolean arrays (an empty list selects nothing, as an empty int array)."""
    if isinstance(index, tuple):
        return tuple(as_array_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        array = backend.xp.asarray(index)
        return array if array.size else array.astype(numpy.intp)
    return index


def _selects_by_integer_array(index) -> bool:
    """Whether ``index`` holds an integer array, which may pick one element twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(getattr(p, "dtype", None) is not None and p.dtype.kind in "iu" and p.ndim > 0 for p in parts)


def _is_advanced(part) -> bool:
    """An integer array of at least one dimension, or a boolean mask of any."""
    dtype = getattr(part, "dtype", None)
    return dtype is not None and (dtype.kind == "b" or (dtype.kind in "iu" and part.ndim > 0))


def _is_integer(part) -> bool:
    if isinstance(part, (bool, numpy.bool_)):
        return False
    if isinstance(part, (int, numpy.integer)):
        return True
    dtype = getattr(part, "dtype", None)
    return dtype is not None and dtype.kind in "iu" and part.ndim == 0


def integers_first(index):
    """``index`` as the two steps PyTorch takes when it mixes integers with integer arrays or
    masks: the integers select first (basic indexing, each removing its axis), then the
    arrays index what is left. NumPy counts an integer as an advanced index instead, which
    moves the arrays' axes to the front when a slice stands between them: on a (3, 4, 5)
    x, ``x[0, :, [0, 1]]`` is (4, 2) in PyTorch and (2, 4) in NumPy.

    Returns (integers, arrays) for ``x[integers][arrays]``, or None when the index has
    no integer or no array (then NumPy and PyTorch agree).
    """
    parts = index if isinstance(index, tuple) else (index,)
    if not (any(map(_is_integer, parts)) and any(map(_is_advanced, parts))):
        return None
    integers, arrays = [], []
    for part in parts:
        if _is_integer(part):
            integers.append(part)
        elif _is_advanced(part):
            integers.extend([slice(None)] * (part.ndim if part.dtype.kind == "b" else 1))
            arrays.append(part)
        elif part is None or isinstance(part, slice):
            integers.append(part)
            arrays.append(slice(None))
        else:  # Ellipsis covers the same axes in both steps
            integers.append(part)
            arrays.append(part)
    return tuple(integers), tuple(arrays)


@register("getitem")
class GetItem(Function):
    """y = x[index], PyTorch semantics (NumPy's, except that integers mixed with integer
    arrays or masks select first: see :func:`integers_first`).

    Basic indices (ints, slices with any step, None, Ellipsis) select each element
    at most once: backward scatters by assignment. Integer arrays may select an
    element several times: backward accumulates with ``add.at``. Boolean masks
    select each element once. Tensors in the index are used as arrays.
    x: S → y: the shape PyTorch gives x[index].
    """

    formula = "dx = zeros with dx[index] += dy"

    def __init__(self, index):
        self.index = as_array_index(index)
        self.accumulate = _selects_by_integer_array(self.index)
        self.steps = integers_first(self.index)

    def forward(self, x):
        self.x_shape = x.shape
        if self.steps is None:
            return x[self.index]
        integers, arrays = self.steps
        selected = x[integers]
        self.selected_shape = selected.shape
        return selected[arrays]

    def backward(self, dy):
        # y = x[i]  ⇒  dx = 0 except dx[i] += dy (summed where i picks an element more than once);
        # in two steps y = x[i₁][i₂]: the same scatter through i₂, then through i₁
        xp = backend.xp
        if self.steps is None:
            return (_scatter(xp.zeros(self.x_shape, dtype=dy.dtype), self.index, dy, self.accumulate),)
        integers, arrays = self.steps
        selected = _scatter(xp.zeros(self.selected_shape, dtype=dy.dtype), arrays, dy, self.accumulate)
        dx = xp.zeros(self.x_shape, dtype=dy.dtype)
        dx[integers] = selected
        return (dx,)


def _scatter(into, index, values, accumulate: bool):
    """``into[index] += values``, summing repeats when ``accumulate``; returns ``into``."""
    if accumulate:
        backend.xp.add.at(into, index, values)
    else:
        into[index] = values
    return into


@register("concatenate")
class Concatenate(Function):
    """Join arrays along an existing axis.

    xs[i]: (d_0, …, n_i, …, d_k), equal except along ``axis`` → y: (d_0, …, Σ n_i, …, d_k)
    """

    formula = "dxᵢ = the slice of dy where xᵢ sits"

    def __init__(self, axis: int = 0):
        self.axis = axis

    def forward(self, *xs):
        if not xs:
            raise ValueError("concatenate: needs at least one array")
        ndim = xs[0].ndim
        if ndim == 0:
            raise ShapeError("concatenate: 0-d arrays have no axis to join along; use stack")
        (axis,) = normalize_axes(self.axis, ndim, "concatenate")
        others = xs[0].shape[:axis] + xs[0].shape[axis + 1 :]
        for x in xs:
            if x.ndim != ndim or x.shape[:axis] + x.shape[axis + 1 :] != others:
                raise ShapeError(
                    f"concatenate along axis {axis}: shapes must match except on that axis, "
                    f"got {[x.shape for x in xs]}"
                )
        self.joined_axis = axis
        self.dtypes = [x.dtype for x in xs]
        self.splits = numpy.cumsum([x.shape[axis] for x in xs[:-1]]).tolist()
        return backend.xp.concatenate(xs, axis=axis)

    def backward(self, dy):
        # y = [x_1 | x_2 | …] along axis  ⇒  dx_i = the slice of dy where x_i sits
        pieces = backend.xp.split(dy, self.splits, axis=self.joined_axis)
        return tuple(
            piece.astype(dtype, copy=False) if self.needs_input_grad[i] else None
            for i, (piece, dtype) in enumerate(zip(pieces, self.dtypes))
        )


@register("stack")
class Stack(Function):
    """Join same-shaped arrays along a new axis. xs[i]: S → y: S with len(xs) inserted at ``axis``."""

    formula = "dxᵢ = dy[…, i, …]"

    def __init__(self, axis: int = 0):
        self.axis = axis

    def forward(self, *xs):
        if not xs:
            raise ValueError("stack: needs at least one array")
        shape = xs[0].shape
        if any(x.shape != shape for x in xs):
            raise ShapeError(f"stack: all arrays must have the same shape, got {[x.shape for x in xs]}")
        (self.new_axis,) = normalize_axes(self.axis, len(shape) + 1, "stack")
        self.dtypes = [x.dtype for x in xs]
        return backend.xp.stack(xs, axis=self.new_axis)

    def backward(self, dy):
        # y[…, i, …] = x_i  ⇒  dx_i = dy[…, i, …]
        lead = (slice(None),) * self.new_axis
        return tuple(
            dy[lead + (i,)].astype(dtype, copy=False) if self.needs_input_grad[i] else None
            for i, dtype in enumerate(self.dtypes)
        )


@register("pad")
class Pad(Function):
    """Pad with a constant value, ``numpy.pad`` semantics for ``pad_width``: an int
    (every side of every axis), one (before, after) pair for all axes, or one pair
    per axis. x: (n_0, …, n_k) → y: (b_0 + n_0 + a_0, …, b_k + n_k + a_k)
    """

    formula = "dx = dy with the padding cut off"

    def __init__(self, pad_width, value: float = 0.0):
        self.pad_width = pad_width
        self.value = value

    def forward(self, x):
        widths = numpy.asarray(self.pad_width)
        if widths.dtype.kind not in "iu":
            raise TypeError(f"pad: pad_width must hold integers, got {self.pad_width!r}")
        if (widths < 0).any():
            raise ValueError(f"pad: pad_width must not be negative, got {self.pad_width!r}")
        try:
            pairs = numpy.broadcast_to(widths, (x.ndim, 2))
        except ValueError:
            raise ShapeError(
                f"pad: pad_width {self.pad_width!r} does not fit an input of shape {x.shape} "
                f"(expected an int, a (before, after) pair, or {x.ndim} pairs)"
            ) from None
        self.pairs = tuple((int(before), int(after)) for before, after in pairs)
        self.x_shape = x.shape
        return backend.xp.pad(x, self.pairs, mode="constant", constant_values=self.value)

    def backward(self, dy):
        # y = x surrounded by constants  ⇒  dx = dy with the padding cut off
        inside = tuple(slice(before, before + n) for (before, _), n in zip(self.pairs, self.x_shape))
        return (dy[inside],)
