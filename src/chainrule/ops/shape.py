"""Ops that move, select, repeat or surround elements without changing them:
their backward moves the gradient back to where each element came from (summing
where one element went to several places).
"""
from __future__ import annotations

import builtins
import math

import numpy

from ..backend import array_module
from ..broadcast import sum_to
from ..errors import ShapeError
from ..tensor import Function, Tensor, as_tensor_like
from .elementwise import Cast, where
from .reductions import normalize_axes
from .registry import public, register


@register("reshape")
class Reshape(Function):
    """x: S → y: shape (one entry may be -1), same number of elements."""

    def __init__(self, shape: tuple):
        self.shape = tuple(shape)

    def target_shape(self, x) -> tuple:
        """The shape of the result for input x (subclasses derive it from x's shape)."""
        return self.shape

    def forward(self, x):
        self.x_shape = x.shape
        shape = self.target_shape(x)
        try:
            return x.reshape(shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot reshape an input of shape {x.shape} ({x.size} elements) into {shape}"
            ) from None

    formula = "y = reshape(x) ⇒ dx = dy reshaped to x's shape"

    def backward(self, dy):
        return (dy.reshape(self.x_shape),)

    def backward_graph(self, dy):
        return (Reshape(self.x_shape)(dy),)


@public("reshape", "view")
def reshape(a: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape(shape)(a)


class Flatten(Reshape):
    """The reshape that merges axes start_dim..end_dim (inclusive) of its input into one."""

    def __init__(self, start_dim: int = 0, end_dim: int = -1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def target_shape(self, x) -> tuple:
        dims = x.shape
        rank = builtins.max(x.ndim, 1)
        for name, axis in (("start_dim", self.start_dim), ("end_dim", self.end_dim)):
            if not -rank <= axis < rank:
                raise ShapeError(f"flatten: {name} {axis} is out of range for an input of shape {dims}")
        start, end = self.start_dim % rank, self.end_dim % rank
        if start > end:
            raise ShapeError(
                f"flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} for an input of shape {dims}"
            )
        merged = 1
        for n in dims[start : end + 1]:
            merged *= n
        return dims[:start] + (merged,) + dims[end + 1 :]


@public("flatten")
def flatten(a: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes start_dim..end_dim (inclusive) into one (PyTorch's ``flatten``)."""
    return Flatten(start_dim, end_dim)(a)


class Unsqueeze(Reshape):
    """The reshape that inserts an axis of size 1 at ``axis`` (PyTorch's ``unsqueeze``)."""

    def __init__(self, axis: int):
        self.axis = axis

    def target_shape(self, x) -> tuple:
        rank = x.ndim + 1
        if not -rank <= self.axis < rank:
            raise ShapeError(f"unsqueeze: dim {self.axis} is out of range for an input of shape {x.shape} "
                             f"(expected {-rank} ≤ dim < {rank})")
        axis = self.axis % rank
        return x.shape[:axis] + (1,) + x.shape[axis:]


@public("unsqueeze")
def unsqueeze(a: Tensor, dim: int) -> Tensor:
    """``a`` with a new axis of size 1 at ``dim``, as PyTorch's ``unsqueeze``."""
    return Unsqueeze(dim)(a)


class Squeeze(Reshape):
    """The reshape that drops axes of size 1: all of them, or ``axis`` if it has size 1 (PyTorch's
    ``squeeze``: an axis of another size stays)."""

    def __init__(self, axis=None):
        self.axis = axis

    def target_shape(self, x) -> tuple:
        if self.axis is None:
            return tuple(n for n in x.shape if n != 1)
        axes = normalize_axes(self.axis, x.ndim, "squeeze") if x.ndim else ()
        return tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1))


@public("squeeze")
def squeeze(a: Tensor, dim=None) -> Tensor:
    """``a`` without its axes of size 1 (only ``dim``'s, when given), as PyTorch's ``squeeze``."""
    return Squeeze(dim)(a)


class Unflatten(Reshape):
    """The reshape that splits axis ``axis`` of its input into ``sizes``."""

    def __init__(self, axis: int, sizes: tuple):
        self.axis, self.sizes = axis, tuple(sizes)

    def target_shape(self, x) -> tuple:
        axis = self.axis % x.ndim
        return x.shape[:axis] + self.sizes + x.shape[axis + 1:]


@register("permute")
class Permute(Function):
    """x: (d_0, …, d_k) → y: (d_axes[0], …, d_axes[k]); axes=None reverses them."""

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, x):
        ndim = x.ndim
        axes = tuple(reversed(range(ndim))) if self.axes is None else self.axes
        if len(axes) != ndim or sorted(a % ndim for a in axes) != list(range(ndim)):
            raise ValueError(f"permute: {self.axes} is not a permutation of the {x.ndim} axes of {x.shape}")
        self.axes = tuple(a % ndim for a in axes)
        return x.transpose(self.axes)

    formula = "y = permute(x, p) ⇒ dx = permute(dy, p⁻¹)"

    def backward(self, dy):
        inverse = numpy.argsort(self.axes)
        return (dy.transpose(tuple(int(i) for i in inverse)),)

    def backward_graph(self, dy):
        return (Permute(numpy.argsort(self.axes).tolist())(dy),)


@public("permute")
def permute(a: Tensor, *axes) -> Tensor:
    """Reorder the axes; with no axes given, reverse them."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return Permute(axes or None)(a)


@public("transpose")
def transpose(a: Tensor, axis0: int = -2, axis1: int = -1) -> Tensor:
    """Swap two axes (the last two by default)."""
    axes = list(range(a.ndim))
    axes[axis0], axes[axis1] = axes[axis1], axes[axis0]
    return Permute(axes)(a)


@public("t")
def t(a: Tensor) -> Tensor:
    """The transpose of a matrix; a tensor of fewer dimensions as it is (PyTorch's ``t``)."""
    if a.ndim > 2:
        raise ShapeError(f"t: expects a tensor with at most 2 dimensions, got shape {a.shape}; use transpose(d0, d1)")
    return Permute(None)(a) if a.ndim == 2 else a


@register("broadcast_to")
class BroadcastTo(Function):
    """x: S → y: shape, where S broadcasts to shape by NumPy's rules (a read-only view)."""

    def __init__(self, shape: tuple):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return array_module(x).broadcast_to(x, self.shape)
        except ValueError:
            raise ShapeError(f"broadcast_to: cannot broadcast an input of shape {x.shape} to {self.shape}") from None

    formula = "y = x repeated along the broadcast axes ⇒ dx = dy summed over those axes"

    def backward(self, dy):
        return (sum_to(dy, self.x_shape),)

    def backward_graph(self, dy):
        return (dy.sum_to_size(self.x_shape),)


@public("broadcast_to")
def broadcast_to(a: Tensor, shape) -> Tensor:
    """a repeated along new or size-1 axes to ``shape`` (NumPy broadcasting rules)."""
    return BroadcastTo(shape)(a)


def as_array_index(index, xp=numpy):
    """An index for ``x[index]`` with Tensors replaced by their arrays and lists by
    integer or boolean arrays of ``xp`` (an empty list selects nothing, as an empty int array)."""
    if isinstance(index, tuple):
        return tuple(as_array_index(i, xp) for i in index)
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, numpy.ndarray) and xp is not numpy:
        return xp.asarray(index)  # an index array goes where the data is
    if isinstance(index, list):
        array = xp.asarray(index)
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

    def __init__(self, index, xp=numpy):
        self.index = as_array_index(index, xp)
        self.accumulate = _selects_by_integer_array(self.index)
        self.steps = integers_first(self.index)

    def forward(self, x):
        self.x_shape = x.shape
        return _select(x, self.index, self.steps)

    formula = "y = x[index] ⇒ dx = zeros with dx[index] += dy"

    def backward(self, dy):
        return (_scatter_into_zeros(dy, self.x_shape, self.index, self.steps, self.accumulate),)

    def backward_graph(self, dy):
        return (GetItemBackward(self.x_shape, self.index)(dy),)


@register("getitem_backward")
class GetItemBackward(Function):
    """The gradient of ``x[index]`` as an op of its own: gy (the gradient of x[index]) scattered
    into zeros of x's shape. Linear in gy, so its own gradient is ``dy[index]`` (what second
    order needs; max pooling and embedding route their gradients through it too).
    gy: the shape of x[index] → y: x_shape."""

    def __init__(self, x_shape: tuple, index):
        self.x_shape = tuple(x_shape)
        self.index = as_array_index(index)
        self.accumulate = _selects_by_integer_array(self.index)

    def _index_for(self, array):
        """The index, with its arrays where ``array`` lives, and its two steps (:func:`integers_first`)."""
        index = as_array_index(self.index, array_module(array))
        return index, integers_first(index)

    def forward(self, gy):
        index, steps = self._index_for(gy)
        return _scatter_into_zeros(gy, self.x_shape, index, steps, self.accumulate)

    formula = "y = zeros with y[index] += gy ⇒ dgy = dy[index]"

    def backward(self, dy):
        return (_select(dy, *self._index_for(dy)),)

    def backward_graph(self, dy):
        return (GetItem(self.index, array_module(dy.data))(dy),)


def _select(x, index, steps):
    """``x[index]``, in the two steps of :func:`integers_first` where PyTorch takes them."""
    if steps is None:
        return x[index]
    integers, arrays = steps
    return x[integers][arrays]


def _scatter_into_zeros(dy, x_shape: tuple, index, steps, accumulate: bool):
    """Zeros of ``x_shape`` with ``[index] += dy``: summed where the index picks an element more
    than once; in two steps y = x[i₁][i₂], the same scatter through i₂, then through i₁."""
    xp = array_module(dy)
    if steps is None:
        return _scatter(xp.zeros(x_shape, dtype=dy.dtype), index, dy, accumulate)
    integers, arrays = steps
    selected_shape = numpy.broadcast_to(numpy.zeros((), dtype=numpy.int8), x_shape)[integers].shape
    selected = _scatter(xp.zeros(selected_shape, dtype=dy.dtype), arrays, dy, accumulate)
    dx = xp.zeros(x_shape, dtype=dy.dtype)
    dx[integers] = selected
    return dx


@public("__getitem__")
def getitem(a: Tensor, index) -> Tensor:
    """a[index] with NumPy semantics: ints, slices, None, Ellipsis, integer arrays
    (repeats accumulate in the gradient), boolean masks; Tensors act as arrays."""
    return GetItem(index, array_module(a.data))(a)


def add_at(into, index, values) -> None:
    """``into[index] += values``, summing where ``index`` repeats an element: NumPy's ``add.at``,
    CuPy's ``scatter_add`` (whose add.at is the same operation under another name)."""
    xp = array_module(into)
    if xp.__name__ == "cupy":
        import cupyx

        cupyx.scatter_add(into, index, values)
    else:
        xp.add.at(into, index, values)


def _scatter(into, index, values, accumulate: bool):
    """``into[index] += values``, summing repeats when ``accumulate``; returns ``into``."""
    if accumulate:
        add_at(into, index, values)
    else:
        into[index] = values
    return into


@register("concatenate")
class Concatenate(Function):
    """Join arrays along an existing axis.

    xs[i]: (d_0, …, n_i, …, d_k), equal except along ``axis`` → y: (d_0, …, Σ n_i, …, d_k)
    """

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
        return array_module(xs[0]).concatenate(xs, axis=axis)

    formula = "y = [x₁ | x₂ | …] along the axis ⇒ dxᵢ = the slice of dy where xᵢ sits"

    def backward(self, dy):
        pieces = array_module(dy).split(dy, self.splits, axis=self.joined_axis)
        return tuple(
            piece.astype(dtype, copy=False) if self.needs_input_grad[i] else None
            for i, (piece, dtype) in enumerate(zip(pieces, self.dtypes))
        )

    def backward_graph(self, dy):
        lead = (slice(None),) * self.joined_axis
        bounds = [0, *self.splits, dy.shape[self.joined_axis]]
        return tuple(
            cast_like(dy[lead + (slice(start, end),)], dtype) if self.needs_input_grad[i] else None
            for i, (start, end, dtype) in enumerate(zip(bounds, bounds[1:], self.dtypes))
        )


@register("stack")
class Stack(Function):
    """Join same-shaped arrays along a new axis. xs[i]: S → y: S with len(xs) inserted at ``axis``."""

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
        return array_module(xs[0]).stack(xs, axis=self.new_axis)

    formula = "y[…, i, …] = xᵢ ⇒ dxᵢ = dy[…, i, …]"

    def backward(self, dy):
        lead = (slice(None),) * self.new_axis
        return tuple(
            dy[lead + (i,)].astype(dtype, copy=False) if self.needs_input_grad[i] else None
            for i, dtype in enumerate(self.dtypes)
        )

    def backward_graph(self, dy):
        lead = (slice(None),) * self.new_axis
        return tuple(
            cast_like(dy[lead + (i,)], dtype) if self.needs_input_grad[i] else None
            for i, dtype in enumerate(self.dtypes)
        )


def cast_like(t: Tensor, dtype) -> Tensor:
    """``t`` in ``dtype``, on the graph (itself when it already is)."""
    return t if t.dtype == dtype else Cast(dtype)(t)


def _alike(tensors) -> list:
    """The operands as Tensors; arrays and numbers take the dtype of the first Tensor."""
    tensors = list(tensors)
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    return [t if isinstance(t, Tensor) or like is None else as_tensor_like(t, like) for t in tensors]


@public()
def concatenate(tensors, axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join a sequence of tensors along an existing axis (``dim``, PyTorch's name, alike)."""
    return Concatenate(axis if dim is None else dim)(*_alike(tensors))


@public()
def cat(tensors, dim: int = 0) -> Tensor:
    """PyTorch's name for :func:`concatenate`."""
    return Concatenate(dim)(*_alike(tensors))


@public()
def stack(tensors, axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join a sequence of same-shaped tensors along a new axis (``dim``, PyTorch's name, alike)."""
    return Stack(axis if dim is None else dim)(*_alike(tensors))


@register("pad")
class Pad(Function):
    """Pad with a constant value, ``numpy.pad`` semantics for ``pad_width``: an int
    (every side of every axis), one (before, after) pair for all axes, or one pair
    per axis. x: (n_0, …, n_k) → y: (b_0 + n_0 + a_0, …, b_k + n_k + a_k)
    """

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
        return array_module(x).pad(x, self.pairs, mode="constant", constant_values=self.value)

    formula = "y = x surrounded by constants ⇒ dx = dy with the padding cut off"

    def backward(self, dy):
        inside = tuple(slice(before, before + n) for (before, _), n in zip(self.pairs, self.x_shape))
        return (dy[inside],)

    def backward_graph(self, dy):
        return (dy[tuple(slice(before, before + n) for (before, _), n in zip(self.pairs, self.x_shape))],)


class PadLastAxes(Pad):
    """The pad that widens the last ``len(widths)`` axes by their (before, after) pairs and leaves
    the leading ones, whatever their number (``nn.ZeroPad2d``'s op)."""

    def __init__(self, widths: tuple, value: float = 0.0):
        super().__init__(None, value)
        self.widths = tuple(widths)

    def forward(self, x):
        self.pad_width = ((0, 0),) * (x.ndim - len(self.widths)) + self.widths
        return super().forward(x)


@public()
def pad(a: Tensor, pad_width, value: float = 0.0) -> Tensor:
    """Surround a with ``value``; ``pad_width`` has **NumPy's meaning** (numpy.pad), not
    ``torch.nn.functional.pad``'s: an int or one (before, after) pair pads *every* axis, or
    one pair per axis, first axis first. So ``pad(x, (1, 1))`` pads all axes of x, where
    PyTorch's ``F.pad(x, (1, 1))`` pads only the last."""
    return Pad(pad_width, value)(a)


# -- PyTorch's views and selections, composed of the ops above ---------------------------------
# Each is reshape, broadcast_to, getitem (and its gradient op), where or concatenate, so its
# backward, and its backward_graph, are theirs; its verification cases are theirs too.
def _sizes(sizes: tuple) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` alike."""
    return tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else tuple(sizes)


def _along(dim: int, ndim: int, op: str, part) -> tuple:
    """An index that applies ``part`` to axis ``dim`` and keeps the others whole."""
    (axis,) = normalize_axes(dim, ndim, op)
    return (slice(None),) * axis + (part,)


@public("expand")
def expand(a: Tensor, *sizes) -> Tensor:
    """``a`` broadcast to ``sizes``, −1 keeping a size (PyTorch's ``expand``: a view, no copy)."""
    sizes = _sizes(sizes)
    lead = len(sizes) - a.ndim
    if lead < 0:
        raise ShapeError(f"expand: {len(sizes)} sizes for a tensor of shape {a.shape}; give at least {a.ndim}")
    if any(n == -1 for n in sizes[:lead]):
        raise ShapeError(f"expand: −1 cannot stand for a new leading axis, got sizes {sizes} for shape {a.shape}")
    return BroadcastTo(tuple(a.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes)))(a)


@public("repeat")
def repeat(a: Tensor, *repeats) -> Tensor:
    """``a`` tiled ``repeats[i]`` times along axis i (PyTorch's ``repeat``, NumPy's ``tile``): a
    size-1 axis before each, broadcast to the count, merged back."""
    repeats = _sizes(repeats)
    if len(repeats) < a.ndim:
        raise ShapeError(f"repeat: {len(repeats)} counts for a tensor of shape {a.shape}; give at least {a.ndim}")
    shape = (1,) * (len(repeats) - a.ndim) + a.shape
    spread = Reshape(tuple(v for n in shape for v in (1, n)))(a)
    tiled = BroadcastTo(tuple(v for r, n in zip(repeats, shape) for v in (r, n)))(spread)
    return Reshape(tuple(r * n for r, n in zip(repeats, shape)))(tiled)


@public("flip")
def flip(a: Tensor, dims) -> Tensor:
    """``a`` reversed along ``dims``."""
    axes = normalize_axes(dims, a.ndim, "flip")
    return GetItem(tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(a.ndim)))(a)


@public("roll")
def roll(a: Tensor, shifts, dims=None) -> Tensor:
    """``a`` shifted cyclically by ``shifts`` along ``dims`` (flattened first when dims is None)."""
    if dims is None:
        return Reshape(a.shape)(roll(Reshape((-1,))(a), shifts, 0))
    shifts, dims = ((shifts,), (dims,)) if isinstance(dims, int) else (tuple(shifts), tuple(dims))
    if len(shifts) != len(dims):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    xp = array_module(a.data)
    for shift, dim in zip(shifts, dims):
        n = a.shape[normalize_axes(dim, a.ndim, "roll")[0]]
        if n:
            a = GetItem(_along(dim, a.ndim, "roll", (xp.arange(n) - shift) % n), xp)(a)
    return a


@public("narrow")
def narrow(a: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Elements start … start + length − 1 along ``dim``."""
    (axis,) = normalize_axes(dim, a.ndim, "narrow")
    n = a.shape[axis]
    start = start + n if start < 0 else start
    if not (0 <= start and length >= 0 and start + length <= n):
        raise ShapeError(f"narrow: start {start} and length {length} do not fit axis {dim} of size {n}")
    return GetItem(_along(axis, a.ndim, "narrow", slice(start, start + length)))(a)


@public("split")
def split(a: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces along ``dim``: of ``split_size`` each (the last may be smaller), or of the listed sizes."""
    (axis,) = normalize_axes(dim, a.ndim, "split")
    n = a.shape[axis]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
        sizes = [min(split_size_or_sections, n - start) for start in range(0, n, split_size_or_sections)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ShapeError(f"split: sections {sizes} sum to {sum(sizes)}, not to the size {n} of axis {dim}")
    starts = numpy.cumsum([0] + sizes[:-1]).tolist()
    return tuple(narrow(a, axis, start, size) for start, size in zip(starts, sizes))


@public("chunk")
def chunk(a: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces along ``dim``, of ⌈n/chunks⌉ elements each (the last may be smaller)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = a.shape[normalize_axes(dim, a.ndim, "chunk")[0]]
    return split(a, max(1, -(-n // chunks)), dim)


@public("unbind")
def unbind(a: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, that axis removed."""
    (axis,) = normalize_axes(dim, a.ndim, "unbind")
    return tuple(GetItem(_along(axis, a.ndim, "unbind", i))(a) for i in range(a.shape[axis]))


@public("index_select")
def index_select(a: Tensor, dim: int, index) -> Tensor:
    """``a``'s slices at the integer ``index`` (1-D) along ``dim``; repeats allowed."""
    xp = array_module(a.data)
    index = xp.asarray(index.data if isinstance(index, Tensor) else index)
    if index.ndim != 1 or index.dtype.kind not in "iu":
        raise TypeError(f"index_select: index must be a 1-D integer tensor, got {index.dtype} of shape {index.shape}")
    return GetItem(_along(dim, a.ndim, "index_select", index), xp)(a)


def _gather_index(op: str, a: Tensor, dim: int, index):
    """The advanced index that picks a[i₀, …, index[i₀, …], …] for every position of ``index``."""
    xp = array_module(a.data)
    index = xp.asarray(index.data if isinstance(index, Tensor) else index)
    if index.dtype.kind not in "iu" or index.ndim != a.ndim:
        raise ShapeError(f"{op}: index must be an integer tensor with as many dims as the input ({a.ndim}), "
                         f"got {index.dtype} of shape {index.shape}")
    (axis,) = normalize_axes(dim, a.ndim, op)
    if any(m > n for d, (m, n) in enumerate(zip(index.shape, a.shape)) if d != axis):
        raise ShapeError(f"{op}: index of shape {index.shape} is larger than the input {a.shape} outside dim {dim}")
    return tuple(index if d == axis else xp.arange(m).reshape([m if e == d else 1 for e in range(a.ndim)])
                 for d, m in enumerate(index.shape))


@public("gather")
def gather(a: Tensor, dim: int, index) -> Tensor:
    """out[i][j][k] = a[i][index[i][j][k]][k] for dim 1 (PyTorch's ``gather``); out has index's shape."""
    return GetItem(_gather_index("gather", a, dim, index), array_module(a.data))(a)


def _scattered(op: str, a: Tensor, dim: int, index, src) -> tuple:
    """(a mask of a's shape, True at the positions ``index`` names along ``dim``; how many it
    names, repeats counted; src's values scattered there into zeros, summed where one repeats)."""
    positions = _gather_index(op, a, dim, index)
    xp = array_module(a.data)
    targeted = xp.zeros(a.shape, dtype=bool)
    targeted[positions] = True
    picked = numpy.broadcast_shapes(*(p.shape for p in positions)) if a.ndim else ()
    if not isinstance(src, Tensor):
        src = as_tensor_like(xp.full(picked, src), a)
    src = GetItem(tuple(slice(0, m) for m in picked))(src)
    return targeted, math.prod(picked), GetItemBackward(a.shape, positions)(src)


@public("scatter_add")
def scatter_add(a: Tensor, dim: int, index, src: Tensor) -> Tensor:
    """``a`` plus src's elements added at ``index`` along ``dim`` (PyTorch's ``scatter_add``)."""
    return a + _scattered("scatter_add", a, dim, index, src)[2]


@public("scatter")
def scatter(a: Tensor, dim: int, index, src) -> Tensor:
    """``a`` with src's elements (or a number) written at ``index`` along ``dim`` (PyTorch's
    ``scatter``). An index that names one position twice is an error: PyTorch leaves which
    value wins undefined."""
    targeted, picks, scattered = _scattered("scatter", a, dim, index, src)
    if int(targeted.sum()) != picks:
        raise ValueError(f"scatter: index names some position of dim {dim} twice, and which value would win is "
                         f"undefined (as in PyTorch); use scatter_add to sum them")
    return where(Tensor(targeted), scattered, a)


@public("masked_fill")
def masked_fill(a: Tensor, mask, value) -> Tensor:
    """``a`` with ``value`` (a number or a 0-d Tensor) where the boolean ``mask`` (broadcast) is True."""
    mask = mask.data if isinstance(mask, Tensor) else array_module(a.data).asarray(mask)
    if mask.dtype.kind != "b":
        raise TypeError(f"masked_fill: mask must be boolean, got {mask.dtype}")
    return where(Tensor(mask), as_tensor_like(value, a), a)


def _triangle(op: str, a: Tensor, diagonal: int, lower: bool) -> Tensor:
    if a.ndim < 2:
        raise ShapeError(f"{op}: expects a matrix or a batch of them, got shape {a.shape}")
    xp = array_module(a.data)
    rows, columns = a.shape[-2:]
    keep = xp.tri(rows, columns, diagonal, dtype=bool) if lower else ~xp.tri(rows, columns, diagonal - 1, dtype=bool)
    return where(Tensor(keep), a, as_tensor_like(0, a))


@public("tril")
def tril(a: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (on and below the ``diagonal``-th diagonal) of the last two axes; zeros elsewhere."""
    return _triangle("tril", a, diagonal, lower=True)


@public("triu")
def triu(a: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (on and above the ``diagonal``-th diagonal) of the last two axes; zeros elsewhere."""
    return _triangle("triu", a, diagonal, lower=False)


@register("contiguous")
class Contiguous(Function):
    """y = x in C order (a copy only when x is not already): what a view needs before its memory
    is read as rows. x: S → y: S."""

    def forward(self, x):
        return x.copy(order="C")

    formula = "y = x laid out in rows ⇒ dx = dy"

    def backward(self, dy):
        return (dy,)

    def backward_graph(self, dy):
        return (dy,)


@public("contiguous")
def contiguous(a: Tensor) -> Tensor:
    return a if a.data.flags.c_contiguous else Contiguous()(a)
