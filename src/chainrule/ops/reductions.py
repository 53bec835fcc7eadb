"""Reductions over an axis, a tuple of axes, or everything (axis=None).

Shapes: x: S → y: S with the reduced axes removed (kept as size 1 with keepdims).
Each backward first restores the reduced axes as size 1 (``_expand``), then
broadcasts back over them.
"""
from __future__ import annotations

import builtins
import math
from typing import NamedTuple

import numpy

from ..backend import array_module
from ..tensor import Function, Tensor
from .dtypes import floating
from .registry import public, register


def normalize_axes(axis, ndim: int, op: str) -> tuple:
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of positives."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for an input with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def reduced_axes(axis, ndim: int, op: str) -> tuple:
    """The axes a reduction (or softmax) runs over, as :func:`normalize_axes` gives them, except
    that a 0-d input has one reducible dim, as in PyTorch: ``dim`` 0 or −1 names it, and
    reducing over it leaves the single value as it is (sum, mean, max: x; softmax: 1)."""
    if ndim == 0 and axis is not None:
        for a in (axis,) if isinstance(axis, int) else tuple(axis):
            if a not in (0, -1):
                raise ValueError(f"{op}: axis {a} is out of range for a 0-d input (0 or -1 name its one dim)")
        return ()
    return normalize_axes(axis, ndim, op)


def pytorch_axis(op: str, axis, keepdims: bool, dim, keepdim) -> tuple:
    """(axis, keepdims) from either spelling: NumPy's ``axis``/``keepdims`` or PyTorch's
    ``dim``/``keepdim`` (not both of one pair)."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: give dim (PyTorch's name) or axis (NumPy's), not both")
        axis = dim
    if keepdim is not None:
        if keepdims:
            raise TypeError(f"{op}: give keepdim (PyTorch's name) or keepdims (NumPy's), not both")
        keepdims = keepdim
    return axis, bool(keepdims)


def stable_max(x, axes: tuple):
    """The max of ``x`` over ``axes`` (kept as size 1), to subtract before ``exp``.

    Infinite maxima and empty inputs give 0 instead: subtracting −∞ from an all −∞
    slice would turn it into nan, and an empty array has no max. The shift cancels
    out of every formula it is used in, so any finite value is correct.
    """
    xp = array_module(x)
    if x.size == 0:
        return xp.zeros([1 if i in axes else n for i, n in enumerate(x.shape)], dtype=x.dtype)
    m = x.max(axis=axes, keepdims=True)
    return xp.where(xp.isfinite(m), m, 0)


class _Reduction(Function):
    def __init__(self, axis=None, keepdims: bool = False):
        self.axis = axis
        self.keepdims = keepdims

    def _axes(self, x) -> tuple:
        self.axes = reduced_axes(self.axis, x.ndim, self.op_name)
        self.x_shape = x.shape
        return self.axes

    def _count(self) -> int:
        """How many elements each output element reduces (call after ``_axes``)."""
        return math.prod(self.x_shape[a] for a in self.axes)

    def _expand(self, dy):
        """dy with the reduced axes restored as size 1."""
        if self.keepdims:
            return dy
        kept = [1 if i in self.axes else n for i, n in enumerate(self.x_shape)]
        return dy.reshape(kept)

    def _finish(self, y_kept):
        """The result from its keepdims form: the reduced axes dropped unless keepdims."""
        return y_kept if self.keepdims else array_module(y_kept).squeeze(y_kept, axis=self.axes)

    def _expand_graph(self, dy: Tensor) -> Tensor:
        """:meth:`_expand` on the graph."""
        return dy if self.keepdims else dy.reshape([1 if i in self.axes else n for i, n in enumerate(self.x_shape)])


@register("sum")
class Sum(_Reduction):
    def forward(self, x):
        return x.sum(axis=self._axes(x), keepdims=self.keepdims)

    formula = "y = Σ_axes x ⇒ dx = dy broadcast over the summed axes"

    def backward(self, dy):
        return (array_module(dy).broadcast_to(self._expand(dy), self.x_shape),)

    def backward_graph(self, dy):
        return (self._expand_graph(dy).broadcast_to(self.x_shape),)


@public("sum")
def sum(a: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:  # noqa: A001 - the PyTorch name
    axis, keepdims = pytorch_axis("sum", axis, keepdims, dim, keepdim)
    return Sum(axis, keepdims)(a)


@public("sum_to_size", functional=False)
def sum_to_size(a: Tensor, *size) -> Tensor:
    """``a`` summed down to ``size``, which ``a`` broadcasts from (PyTorch's ``Tensor.sum_to_size``):
    the leading axes ``size`` lacks are summed away, and the axes where it has 1 are summed keeping 1."""
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    lead = a.ndim - len(shape)
    if lead < 0 or builtins.any(n != 1 and n != m for n, m in zip(shape, a.shape[lead:])):
        raise ValueError(f"sum_to_size: a tensor of shape {a.shape} does not broadcast from size {shape}")
    if lead:
        a = Sum(tuple(range(lead)))(a)
    ones = tuple(i for i, (n, m) in enumerate(zip(shape, a.shape)) if n == 1 and m != 1)
    return Sum(ones, keepdims=True)(a) if ones else a


@register("mean")
class Mean(_Reduction):
    def forward(self, x):
        axes = self._axes(x)
        self.count = self._count()
        return x.mean(axis=axes, keepdims=self.keepdims)

    formula = "y = (1/n)·Σ_axes x ⇒ dx = dy/n broadcast over the averaged axes"

    def backward(self, dy):
        scale = 1.0 / self.count if self.count else float("nan")
        return (array_module(dy).broadcast_to(self._expand(dy) * scale, self.x_shape),)

    def backward_graph(self, dy):
        scale = 1.0 / self.count if self.count else float("nan")
        return ((self._expand_graph(dy) * scale).broadcast_to(self.x_shape),)


@public("mean")
def mean(a: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    axis, keepdims = pytorch_axis("mean", axis, keepdims, dim, keepdim)
    return Mean(axis, keepdims)(a)


class _Extremum(_Reduction):
    """max or min over axes. Every element equal to the result shares the gradient
    evenly (as ``torch.amax``/``torch.amin``): a tie of k elements gives each dy/k."""

    saved_names = ("hits",)

    def forward(self, x):
        axes = self._axes(x)
        if builtins.any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{self.op_name}: cannot reduce over an empty axis (input shape {x.shape}, axis {self.axis})")
        y = self._reduce(x, axes)
        self.save_for_backward(x == y if self.needs_input_grad[0] else None)
        return self._finish(y)

    formula = "y = max_axes x (or min) ⇒ dx = dy·[x = y] / #{x = y}"

    def backward(self, dy):
        (hits,) = self.saved_tensors
        hits = hits.astype(dy.dtype)
        share = self._expand(dy) / hits.sum(axis=self.axes, keepdims=True)
        return (hits * share,)

    def backward_graph(self, dy):
        # [x = y]/#{x = y} is piecewise constant: a constant on the graph
        (hits,) = self.saved_tensors
        hits = hits.astype(dy.dtype)
        return (Tensor(hits / hits.sum(axis=self.axes, keepdims=True)) * self._expand_graph(dy),)


@register("max")
class Max(_Extremum):
    def _reduce(self, x, axes):
        return x.max(axis=axes, keepdims=True)


@public("max")
def max(a: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:  # noqa: A001 - the NumPy name
    """Largest element over the axes (NumPy's ``axis``), tied maxima sharing the gradient evenly (as
    torch.amax); with PyTorch's ``dim``, the (values, indices) along it, the gradient going to each
    index (as torch.max(x, dim))."""
    if dim is not None or keepdim is not None:
        return _extremum_with_indices("max", a, dim, bool(keepdim))
    return Max(axis, keepdims)(a)


@public("amax")
def amax(a: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """PyTorch's name for :func:`max` over axes (``torch.amax``): tied maxima share the gradient."""
    return Max(dim, keepdim)(a)


@register("min")
class Min(_Extremum):
    def _reduce(self, x, axes):
        return x.min(axis=axes, keepdims=True)


@public("min")
def min(a: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:  # noqa: A001 - the NumPy name
    """Smallest element over the axes, or with ``dim`` the (values, indices) along it: see :func:`max`."""
    if dim is not None or keepdim is not None:
        return _extremum_with_indices("min", a, dim, bool(keepdim))
    return Min(axis, keepdims)(a)


@public("amin")
def amin(a: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """PyTorch's name for :func:`min` over axes (``torch.amin``): tied minima share the gradient."""
    return Min(dim, keepdim)(a)


@register("logsumexp")
class LogSumExp(_Reduction):
    """y = log Σ_axes exp(x), computed as m + log Σ exp(x − m) with m the max, so
    large inputs do not overflow. An empty or all −∞ slice gives −∞, as PyTorch."""

    saved_names = ("softmax",)

    def forward(self, x):
        xp = array_module(x)
        axes = self._axes(x)
        m = stable_max(x, axes)
        e = xp.exp(x - m)
        total = e.sum(axis=axes, keepdims=True)
        with numpy.errstate(divide="ignore"):
            y = xp.log(total) + m
        if self.needs_input_grad[0]:
            e /= total
        self.save_for_backward(e if self.needs_input_grad[0] else None)
        return self._finish(y)

    formula = "y = log Σ_axes eˣ ⇒ dx = dy·softmax(x)"

    def backward(self, dy):
        (softmax,) = self.saved_tensors
        return (softmax * self._expand(dy),)

    def backward_graph(self, dy):
        # softmax as e^(x − y): itself differentiable, over any set of axes
        (x,) = self.inputs
        return ((x - LogSumExp(self.axes, keepdims=True)(x)).exp() * self._expand_graph(dy),)


@public("logsumexp")
def logsumexp(a: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """log Σ exp(a) over the axes, without overflow."""
    axis, keepdims = pytorch_axis("logsumexp", axis, keepdims, dim, keepdim)
    return LogSumExp(axis, keepdims)(floating(a))


@register("var")
class Var(_Reduction):
    """Variance Σ(x − mean)² / (n − correction) over the axes.

    ``correction=1`` (the default, as ``torch.var``) is the unbiased sample
    variance; ``correction=0`` the population variance (NumPy's default ``ddof=0``).
    When n ≤ correction the divisor is 0 and the result inf or nan, as in PyTorch.
    """

    def __init__(self, axis=None, keepdims: bool = False, correction: float = 1):
        super().__init__(axis, keepdims)
        self.correction = correction

    saved_names = ("centered",)

    def forward(self, x):
        axes = self._axes(x)
        count = self._count()
        self.divisor = builtins.max(count - self.correction, 0)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            centered = x - x.sum(axis=axes, keepdims=True) / count
            y = (centered * centered).sum(axis=axes, keepdims=self.keepdims) / self.divisor
        self.save_for_backward(centered if self.needs_input_grad[0] else None)
        return y

    @property
    def formula(self) -> str:
        return f"y = Σ(x − μ)²/(n − {self.correction:g}) ⇒ dx = dy·2(x − μ)/(n − {self.correction:g})"

    def backward(self, dy):
        # μ's own term vanishes: Σ(x − μ) = 0
        (centered,) = self.saved_tensors
        scale = 2.0 / self.divisor if self.divisor else math.inf
        with numpy.errstate(invalid="ignore"):
            return (centered * (self._expand(dy) * scale),)

    def backward_graph(self, dy):
        (x,) = self.inputs
        scale = 2.0 / self.divisor if self.divisor else math.inf
        centered = x - x.mean(self.axes, keepdims=True)
        return (centered * (self._expand_graph(dy) * scale),)


@public("var")
def var(a: Tensor, axis=None, keepdims: bool = False, correction: float = 1, *, dim=None, keepdim=None) -> Tensor:
    """Variance over the axes, dividing by n − correction (1 by default, as torch.var;
    NumPy's default is 0)."""
    axis, keepdims = pytorch_axis("var", axis, keepdims, dim, keepdim)
    return Var(axis, keepdims, correction)(a)


class ValuesIndices(NamedTuple):
    """What ``max(x, dim)`` and ``min(x, dim)`` return, as PyTorch's ``torch.return_types.max``."""

    values: Tensor
    indices: Tensor


def _extremum_with_indices(name: str, a: Tensor, dim, keepdim: bool) -> ValuesIndices:
    """The values at the first extreme index along ``dim``, picked by indexing (so the gradient
    reaches that element only), and the indices, int64."""
    from .shape import GetItem, Squeeze  # shape.py builds on this module

    if dim is None:
        raise TypeError(f"{name}: keepdim needs dim (PyTorch's {name}(x, dim, keepdim))")
    indices = _arg_extremum(f"arg{name}", a, dim, keepdim=True)
    data = a.data
    if data.ndim == 0:
        return ValuesIndices(GetItem(())(a), Tensor(indices.data.reshape(())))
    (axis,) = normalize_axes(dim, data.ndim, name)
    xp = array_module(data)
    index = tuple(indices.data if i == axis else xp.arange(n).reshape([n if j == i else 1 for j in range(data.ndim)])
                  for i, n in enumerate(data.shape))
    values = GetItem(index, xp)(a)
    if keepdim:
        return ValuesIndices(values, indices)
    return ValuesIndices(Squeeze(axis)(values), Tensor(xp.squeeze(indices.data, axis=axis)))


def _arg_extremum(name: str, a: Tensor, dim, keepdim: bool) -> Tensor:
    data = a.data if isinstance(a, Tensor) else a
    xp = array_module(data)
    if dim is None:
        found = getattr(xp, name)(data.reshape(-1))
        return Tensor(xp.asarray(found, dtype=xp.int64).reshape((1,) * data.ndim if keepdim else ()))
    if data.ndim == 0:
        reduced_axes(dim, 0, name)  # dim 0 or −1 names a scalar's one dim
        return Tensor(xp.zeros((), dtype=xp.int64))
    (axis,) = normalize_axes(dim, data.ndim, name)
    return Tensor(getattr(xp, name)(data, axis=axis, keepdims=keepdim).astype(xp.int64))


@public("argmax")
def argmax(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element along ``dim`` (of the flattened tensor without one), int64,
    the first one on ties, as PyTorch's ``argmax``. No gradient: indices are not differentiable."""
    return _arg_extremum("argmax", a, dim, keepdim)


@public("argmin")
def argmin(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element along ``dim``, as :func:`argmax`."""
    return _arg_extremum("argmin", a, dim, keepdim)


@public("norm")
def norm(a: Tensor, p: float = 2, dim=None, keepdim: bool = False) -> Tensor:
    """The p-norm over ``dim`` (all elements by default), as ``Tensor.norm``: (Σ|a|ᵖ)^(1/p), √Σa²
    for p = 2, max|a| for p = inf. Composed of verified ops; like any square root, the 2-norm of an
    all-zero slice has no finite gradient (PyTorch's returns 0 there)."""
    if p == math.inf:
        return Max(dim, keepdim)(abs(a))
    if p == 2:
        return Sum(dim, keepdim)(a * a).sqrt()
    return Sum(dim, keepdim)(abs(a) ** p) ** (1.0 / p)


@public("std")
def std(a: Tensor, dim=None, keepdim: bool = False, *, correction: float = 1) -> Tensor:
    """The standard deviation √var over ``dim``, dividing by n − correction (1 by default, as torch.std)."""
    return Var(dim, keepdim, correction)(a).sqrt()


def _exclusive_products(x, axis: int, xp):
    """(left, right) along ``axis``: left_i = Π_{j<i} x_j and right_i = Π_{j>i} x_j, exact with zeros."""
    n = x.shape[axis]

    def part(start: int, stop: int):
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, stop)
        return x[tuple(index)]

    ones = xp.ones_like(part(0, 1))
    left = xp.concatenate((ones, xp.cumprod(part(0, n - 1), axis=axis)), axis=axis)
    right = xp.flip(xp.concatenate((ones, xp.cumprod(xp.flip(part(1, n), axis=axis), axis=axis)), axis=axis), axis=axis)
    return left, right


@register("prod")
class Prod(_Reduction):
    """Product of all elements (dim None) or along one axis. Its gradient is the product of the
    others, from the products to the left and to the right of each element, so that zeros are
    exact (y/x would divide by them)."""

    saved_names = ("x",)

    def forward(self, x):
        if self.axis is not None and not isinstance(self.axis, int):
            raise ValueError(f"prod: dim must be an int or None (PyTorch's prod), got {self.axis!r}")
        axes = self._axes(x)
        self.save_for_backward(x)
        return x.prod(axis=axes, keepdims=self.keepdims)

    formula = "y = Π_axis x ⇒ dx = dy·(the product of the other elements: Π_{j≠i} x_j at each i)"

    def _along(self, x):
        """x with the product's elements along one axis (all of them flattened when dim is None)."""
        return (x.reshape(-1), 0) if self.axis is None or not x.ndim else (x, self.axes[0])

    def backward(self, dy):
        (x,) = self.saved_tensors
        xp = array_module(x)
        flat, axis = self._along(x)
        if flat.size == 0:
            return (xp.zeros_like(x),)
        left, right = _exclusive_products(flat, axis, xp)
        return ((left * right).reshape(x.shape) * self._expand(dy),)

    def backward_graph(self, dy):
        from .shape import cat  # shape.py builds on this module

        (x,) = self.inputs
        flat, axis = self._along(x)
        n = flat.shape[axis]
        if n == 0:
            return (x * 0.0,)
        ones = Tensor(array_module(x.data).ones_like(_take_graph(flat, axis, 0, 1).data))
        if n == 1:
            return (ones.reshape(x.shape) * self._expand_graph(dy),)
        left = cat([ones, Cumprod(axis)(_take_graph(flat, axis, 0, n - 1))], axis)
        right = cat([Cumprod(axis)(_take_graph(flat, axis, 1, n).flip(axis)).flip(axis), ones], axis)
        return ((left * right).reshape(x.shape) * self._expand_graph(dy),)


def _take_graph(a: Tensor, axis: int, start: int, stop: int) -> Tensor:
    """a[start:stop] along ``axis``, on the graph."""
    from .shape import narrow  # shape.py builds on this module

    return narrow(a, axis, start, stop - start)


@public("prod")
def prod(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """The product of all elements, or along ``dim`` (PyTorch's ``prod``)."""
    return Prod(dim, keepdim)(a)


@register("cumsum")
class Cumsum(Function):
    """Running sums along ``dim``: y_i = Σ_{j≤i} x_j. x: S → y: S."""

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, x):
        (self.axis,) = normalize_axes(self.dim, x.ndim, "cumsum") if x.ndim else (0,)
        return array_module(x).cumsum(x, axis=self.axis).astype(x.dtype, copy=False) if x.ndim else x.copy()

    formula = "y_i = Σ_{j≤i} x_j ⇒ dx = Σ_{i≥j} dy_i at each j (a running sum from the end)"

    def backward(self, dy):
        if not dy.ndim:
            return (dy,)
        xp = array_module(dy)
        return (xp.flip(xp.cumsum(xp.flip(dy, axis=self.axis), axis=self.axis), axis=self.axis),)

    def backward_graph(self, dy):
        if not dy.ndim:
            return (dy,)
        return (Cumsum(self.axis)(dy.flip(self.axis)).flip(self.axis),)


@public("cumsum")
def cumsum(a: Tensor, dim: int) -> Tensor:
    return Cumsum(dim)(a)


@register("cumprod")
class Cumprod(Function):
    """Running products along ``dim``: y_i = Π_{j≤i} x_j. x: S → y: S."""

    def __init__(self, dim: int):
        self.dim = dim

    saved_names = ("x",)

    def forward(self, x):
        (self.axis,) = normalize_axes(self.dim, x.ndim, "cumprod") if x.ndim else (0,)
        self.save_for_backward(x)
        return array_module(x).cumprod(x, axis=self.axis).astype(x.dtype, copy=False) if x.ndim else x.copy()

    formula = ("y_i = Π_{j≤i} x_j ⇒ dx = (Π_{j<k} x_j)·s_k at each k, s_k = dy_k + x_{k+1}·s_{k+1} "
               "(Σ_{i≥k} dy_i·Π_{k<j≤i} x_j, exact with zeros)")

    def backward(self, dy):
        (x,) = self.saved_tensors
        if not x.ndim:
            return (dy,)
        xp = array_module(x)
        n = x.shape[self.axis]
        if n == 0:
            return (xp.zeros_like(x),)
        left, _ = _exclusive_products(x, self.axis, xp)
        s = xp.empty_like(dy)
        index = [slice(None)] * x.ndim

        def at(k):
            index[self.axis] = k
            return tuple(index)

        s[at(n - 1)] = dy[at(n - 1)]
        for k in range(n - 2, -1, -1):
            s[at(k)] = dy[at(k)] + x[at(k + 1)] * s[at(k + 1)]
        return (left * s,)

    def backward_graph(self, dy):
        (x,) = self.inputs
        if not x.ndim:
            return (dy,)
        n = x.shape[self.axis]
        if n == 0:
            return (x * 0.0,)
        from .shape import cat, stack, unbind  # shape.py builds on this module

        xs, dys = unbind(x, self.axis), unbind(dy, self.axis)
        s = [None] * n
        s[n - 1] = dys[n - 1]
        for k in range(n - 2, -1, -1):
            s[k] = dys[k] + xs[k + 1] * s[k + 1]
        ones = Tensor(array_module(x.data).ones_like(xs[0].data)).unsqueeze(self.axis)
        left = ones if n == 1 else cat([ones, Cumprod(self.axis)(_take_graph(x, self.axis, 0, n - 1))], self.axis)
        return (left * stack(s, self.axis),)


@public("cumprod")
def cumprod(a: Tensor, dim: int) -> Tensor:
    return Cumprod(dim)(a)


@public("all")
def all(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001 - the PyTorch name
    """Whether every element (along ``dim``) is non-zero: a bool Tensor, no gradient."""
    data = a.data if isinstance(a, Tensor) else a
    axis = None if dim is None else normalize_axes(dim, data.ndim, "all")
    return Tensor(array_module(data).all(data, axis=axis, keepdims=keepdim))


@public("any")
def any(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001 - the PyTorch name
    """Whether some element (along ``dim``) is non-zero: a bool Tensor, no gradient."""
    data = a.data if isinstance(a, Tensor) else a
    axis = None if dim is None else normalize_axes(dim, data.ndim, "any")
    return Tensor(array_module(data).any(data, axis=axis, keepdims=keepdim))
