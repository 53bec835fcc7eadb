"""Ops that move, select, repeat or surround elements without changing them:
their backward moves the gradient back to where each element came from (summing
where one element went to several places).
"""
from __future__ import annotations

import builtins

import numpy

from ..backend import array_module
from ..broadcast import sum_to
from ..errors import ShapeError
from ..tensor import Function, Tensor, as_tensor_like
from .elementwise import Cast
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
    """The reshape that merges axes start_axis..end_axis (inclusive) of its input into one."""

    def __init__(self, start_axis: int = 0, end_axis: int = -1):
        self.start_axis, self.end_axis = start_axis, end_axis

    def target_shape(self, x) -> tuple:
        dims = x.shape
        rank = builtins.max(x.ndim, 1)
        for name, axis in (("start_axis", self.start_axis), ("end_axis", self.end_axis)):
            if not -rank <= axis < rank:
                raise ShapeError(f"flatten: {name} {axis} is out of range for an input of shape {dims}")
        start, end = self.start_axis % rank, self.end_axis % rank
        if start > end:
            raise ShapeError(
                f"flatten: start_axis {self.start_axis} comes after end_axis {self.end_axis} for an input of shape {dims}"
            )
        merged = 1
        for n in dims[start : end + 1]:
            merged *= n
        return dims[:start] + (merged,) + dims[end + 1 :]


@public("flatten")
def flatten(a: Tensor, start_axis: int = 0, end_axis: int = -1) -> Tensor:
    """Merge axes start_axis..end_axis (inclusive) into one."""
    return Flatten(start_axis, end_axis)(a)


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


def scatter_add(into, index, values) -> None:
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
        scatter_add(into, index, values)
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


@public()
def pad(a: Tensor, pad_width, value: float = 0.0) -> Tensor:
    """Surround a with ``value``; ``pad_width`` has **NumPy's meaning** (numpy.pad), not
    ``torch.nn.functional.pad``'s: an int or one (before, after) pair pads *every* axis, or
    one pair per axis, first axis first. So ``pad(x, (1, 1))`` pads all axes of x, where
    PyTorch's ``F.pad(x, (1, 1))`` pads only the last."""
    return Pad(pad_width, value)(a)
