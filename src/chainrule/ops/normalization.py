"""Normalisation: batch norm (statistics per channel, over the batch) and layer norm
(statistics per sample, over its last axes), each with an optional affine map.

Both take ``(x, *affine)`` where ``affine`` is ``()``, ``(weight,)`` or
``(weight, bias)``; backward returns one gradient per input given.

Both share one derivation. With x̂ = (x − μ)·s, s = 1/√(σ² + ε), μ and σ² taken
over M elements, and g = dy·γ (the gradient reaching x̂):

    dx = s·(g − mean(g) − x̂·mean(g·x̂))

because dμ/dx = 1/M and dσ²/dx = 2(x − μ)/M; mean() runs over the same M elements.
"""
from __future__ import annotations

import math

import numpy

from .. import backend, kernels
from ..backend import array_module
from ..errors import ShapeError
from ..tensor import Function, Tensor
from .dtypes import check_same_dtype
from .layout import memory_order
from .registry import public, register


def _check_affine(op: str, x, affine: tuple, expected: tuple) -> None:
    if len(affine) > 2:
        raise TypeError(f"{op}: expected (x, weight, bias) at most, got {1 + len(affine)} inputs")
    for name, array in zip(("weight", "bias"), affine):
        if array.shape != expected:
            raise ShapeError(f"{op}: expected {name} of shape {expected}, got {array.shape}")
    check_same_dtype(op, x, *affine)


def _apply_affine(x_hat, affine: tuple, shape: tuple):
    if not affine:
        return x_hat
    y = x_hat * affine[0].reshape(shape)
    if len(affine) == 2:
        y += affine[1].reshape(shape)
    return y


def _affine_grads(op: Function, dy, x_hat, count: int, axes: tuple) -> tuple:
    """dγ = Σ dy·x̂ and dβ = Σ dy over ``axes`` (the axes γ and β are broadcast along), for the
    ``count`` affine inputs given (0, 1 or 2)."""
    need = op.needs_input_grad
    shape = x_hat.shape[len(axes):]
    grads = []
    if count:
        grads.append((dy * x_hat).sum(axis=axes).reshape(shape) if need[1] else None)
    if count == 2:
        grads.append(dy.sum(axis=axes).reshape(shape) if need[2] else None)
    return tuple(grads)


_NORMALISATION_FORMULA = (
    "y = γ·x̂ + β, x̂ = (x − μ)·s, s = 1/√(σ² + ε) "
    "⇒ dx = s·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ, dγ = Σ dy·x̂, dβ = Σ dy"
)


def _channel_rows(x, order: tuple[int, ...]):
    """x (N, C, *spatial) as (C, M) rows, one per channel, its axes taken in ``order``
    (the channel axis first): a view when x's memory holds the channels outermost."""
    return x.transpose(order).reshape(x.shape[1], math.prod(x.shape[axis] for axis in order[1:]))


def _from_channel_rows(rows, shape: tuple, order: tuple[int, ...]):
    """The inverse of :func:`_channel_rows`: (C, M) rows as an array of ``shape`` (a view)."""
    return rows.reshape(tuple(shape[axis] for axis in order)).transpose(tuple(int(a) for a in numpy.argsort(order)))


def _scaled(x_hat, affine: tuple):
    """x̂·γ + β per channel row (γ, β optional)."""
    if not affine:
        return x_hat
    y = x_hat * affine[0][:, None]
    if len(affine) == 2:
        y += affine[1][:, None]
    return y


def _row_dots(a, b):
    """(C, M), (C, M) → (C,): Σ_j a[i, j]·b[i, j], as C products (1×M)·(M×1) that BLAS runs
    without the temporary a·b would take."""
    return array_module(a).matmul(a[:, None, :], b[:, :, None])[:, 0, 0]


@register("batch_norm")
class BatchNorm(Function):
    """Batch normalisation over every axis but the channel axis 1.

    x: (N, C) or (N, C, *spatial), weight and bias: (C,) → y: the shape of x.

    In training (``training=True``) it normalises with the batch's mean and
    (biased) variance and, when running statistics are given, updates them in
    place as a side effect: r ← (1 − momentum)·r + momentum·batch_stat, with the
    unbiased variance for ``running_var``, as PyTorch does. Otherwise it
    normalises with ``running_mean`` and ``running_var``.

    It works on x as (C, M) rows, one per channel, so that every statistic is a
    reduction over contiguous memory. The rows are a view of conv2d's output, whose
    memory holds channels outermost; other inputs are copied into rows once, and
    y then holds its channels outermost too.
    """

    def __init__(self, running_mean=None, running_var=None, training: bool = True,
                 momentum: float = 0.1, eps: float = 1e-5):
        if (running_mean is None) != (running_var is None):
            raise ValueError("batch_norm: give both running_mean and running_var, or neither")
        if not training and running_mean is None:
            raise ValueError("batch_norm: evaluation mode (training=False) needs running_mean and running_var")
        self.running_mean, self.running_var = running_mean, running_var
        self.training = training
        self.momentum = float(momentum)
        self.eps = float(eps)

    saved_names = ("x_hat", "inv_std", "weight")

    def forward(self, x, *affine):
        xp = array_module(x)
        if x.ndim < 2:
            raise ShapeError(f"batch_norm: expected input (N, C) or (N, C, *spatial), got {x.shape}")
        channels = x.shape[1]
        _check_affine("batch_norm", x, affine, (channels,))
        if self.running_mean is not None and type(self.running_mean) is not type(x):
            raise TypeError(f"batch_norm: running_mean and running_var are on {backend.device_of(self.running_mean)}, "
                            f"the input on {backend.device_of(x)}; move them to one device first")
        count = x.size // channels if channels else 0
        if self.training and count <= 1:
            raise ShapeError(f"batch_norm: training needs more than one value per channel, got input {x.shape}")
        order = (1,) + tuple(axis for axis in memory_order(x) if axis != 1)
        rows = _channel_rows(x, order)
        if self.training:
            normalised = kernels.batch_norm(rows, affine, self.eps) or self._normalise_by_batch(rows, affine)
            y, x_hat, mean, var, inv_std = normalised
            if self.running_mean is not None:
                m = self.momentum
                self.running_mean *= 1.0 - m
                self.running_mean += m * mean
                self.running_var *= 1.0 - m
                self.running_var += (m * count / (count - 1)) * var
        else:
            inv_std = (1.0 / xp.sqrt(self.running_var + self.eps)).astype(x.dtype, copy=False)
            x_hat = rows - self.running_mean.astype(x.dtype, copy=False)[:, None]
            x_hat *= inv_std[:, None]
            y = _scaled(x_hat, affine)
        # Saved whatever needs_input_grad says (any() of a by-hand call's is False); a Function
        # off the graph is dropped after forward, and its saved arrays with it.
        self.save_for_backward(x_hat, inv_std, affine[0] if affine else None)
        self.order, self.affine_count = order, len(affine)
        return _from_channel_rows(y, x.shape, order)

    def _normalise_by_batch(self, rows, affine: tuple) -> tuple:
        """(y, x̂, mean, var, inv_std) of the rows (C, M) with the batch's statistics: the NumPy
        reference of ``kernels.batch_norm``."""
        count = rows.shape[1]
        mean = rows.sum(axis=1) / count
        x_hat = rows - mean[:, None]
        var = _row_dots(x_hat, x_hat) / count
        inv_std = 1.0 / array_module(rows).sqrt(var + self.eps)
        x_hat *= inv_std[:, None]
        return _scaled(x_hat, affine), x_hat, mean, var, inv_std

    def replay(self, x: Tensor, *affine: Tensor) -> Tensor:
        """This node's forward again on the graph without touching the running statistics a
        second time (``Chain`` differentiates its steps twice through it)."""
        if self.training:
            return BatchNorm(None, None, True, self.momentum, self.eps)(x, *affine)
        return BatchNorm(self.running_mean, self.running_var, False, self.momentum, self.eps)(x, *affine)

    @property
    def formula(self) -> str:
        if self.training:
            return _NORMALISATION_FORMULA
        return "y = γ·(x − running_mean)·s + β, s = 1/√(running_var + ε) ⇒ dx = dy·γ·s, dγ = Σ dy·x̂, dβ = Σ dy"

    def backward(self, dy):
        # Per channel mean(g) = γ·dβ/M and mean(g·x̂) = γ·dγ/M, with dβ = Σ dy and dγ = Σ dy·x̂, so
        # dx = a·dy − (a·dγ/M)·x̂ − a·dβ/M with a = γ·s: three passes over the rows.
        # With running statistics μ and s are constants, so dx = a·dy.
        need = self.needs_input_grad
        x_hat, inv_std, weight = self.saved_tensors
        dy_rows = _channel_rows(dy, self.order)
        a = inv_std if weight is None else inv_std * weight
        rows, d_beta, d_gamma = (kernels.batch_norm_backward(dy_rows, x_hat, a, self.training, bool(need[0]))
                                 or self._row_gradients(dy_rows, x_hat, a, bool(need[0])))
        dx = None if rows is None else _from_channel_rows(rows, dy.shape, self.order)
        grads = (d_gamma, d_beta)[:self.affine_count]
        return (dx,) + tuple(grad if need[1 + i] else None for i, grad in enumerate(grads))

    def _row_gradients(self, dy_rows, x_hat, a, need_dx: bool) -> tuple:
        """(dx rows or None, dβ, dγ) over the rows (C, M): the NumPy reference of
        ``kernels.batch_norm_backward``."""
        count = x_hat.shape[1]
        d_beta = dy_rows.sum(axis=1)
        d_gamma = _row_dots(dy_rows, x_hat)
        rows = None
        if need_dx:
            rows = dy_rows * a[:, None]
            if self.training:
                rows -= x_hat * (a * d_gamma / count)[:, None]
                rows -= (a * d_beta / count)[:, None]
        return rows, d_beta, d_gamma

    def backward_graph(self, dy):
        x, *affine = self.inputs
        axes = (0, *range(2, x.ndim))
        per_channel = (x.shape[1],) + (1,) * (x.ndim - 2)
        if self.training:
            return _normalization_grads_graph(self, dy, x, affine, axes, per_channel, self.eps, axes)
        # running statistics are constants: x̂ = (x − μ)·s is affine in x
        xp = array_module(x.data)
        inv_std = Tensor((1.0 / xp.sqrt(self.running_var + self.eps)).astype(x.dtype).reshape(per_channel))
        x_hat = (x - Tensor(self.running_mean.astype(x.dtype).reshape(per_channel))) * inv_std
        gamma = affine[0].reshape(per_channel) if affine else None
        dx = dy * inv_std if gamma is None else dy * gamma * inv_std
        return (dx,) + _affine_grads_graph(self, dy, x_hat, len(affine), axes)


@register("layer_norm")
class LayerNorm(Function):
    """Layer normalisation over the last ``len(normalized_shape)`` axes.

    x: (*, *normalized_shape), weight and bias: normalized_shape → y: the shape of x.
    """

    def __init__(self, normalized_shape: tuple, eps: float = 1e-5):
        self.normalized_shape = tuple(normalized_shape)
        self.eps = float(eps)

    saved_names = ("x_hat", "inv_std", "weight")

    def forward(self, x, *affine):
        normalized = self.normalized_shape
        k = len(normalized)
        if x.ndim < k or x.shape[x.ndim - k:] != normalized:
            raise ShapeError(f"layer_norm: expected input (*, {', '.join(map(str, normalized))}), got {x.shape}")
        _check_affine("layer_norm", x, affine, normalized)
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        inv_std = 1.0 / array_module(x).sqrt(var + self.eps)
        x_hat = centered * inv_std
        self.save_for_backward(x_hat, inv_std, affine[0] if affine else None)
        self.axes, self.affine_count = axes, len(affine)
        return _apply_affine(x_hat, affine, normalized)

    formula = _NORMALISATION_FORMULA

    def backward(self, dy):
        # γ and β are broadcast along the leading axes, so their gradients sum over those
        x_hat, inv_std, weight = self.saved_tensors
        axes = self.axes
        dx = None
        if self.needs_input_grad[0]:
            g = dy if weight is None else dy * weight
            g = g - g.mean(axis=axes, keepdims=True) - x_hat * (g * x_hat).mean(axis=axes, keepdims=True)
            dx = g * inv_std
        leading = tuple(range(dy.ndim - len(axes)))
        return (dx,) + _affine_grads(self, dy, x_hat, self.affine_count, leading)

    def backward_graph(self, dy):
        x, *affine = self.inputs
        leading = tuple(range(x.ndim - len(self.axes)))
        return _normalization_grads_graph(self, dy, x, affine, self.axes, self.normalized_shape, self.eps, leading)


def _normalization_grads_graph(op: Function, dy: Tensor, x: Tensor, affine: list, axes: tuple, shape: tuple,
                               eps: float, affine_axes: tuple) -> tuple:
    """The normalisation formula's gradients on the graph, x̂ and s recomputed from x so that
    their own dependence on x is differentiated too: ``axes`` are the statistics' axes, ``shape``
    the shape γ and β broadcast from, along ``affine_axes``."""
    centered = x - x.mean(axes, keepdims=True)
    inv_std = ((centered * centered).mean(axes, keepdims=True) + eps) ** -0.5
    x_hat = centered * inv_std
    dx = None
    if op.needs_input_grad[0]:
        g = dy * affine[0].reshape(shape) if affine else dy
        dx = (g - g.mean(axes, keepdims=True) - x_hat * (g * x_hat).mean(axes, keepdims=True)) * inv_std
    return (dx,) + _affine_grads_graph(op, dy, x_hat, len(affine), affine_axes)


def _affine_grads_graph(op: Function, dy: Tensor, x_hat: Tensor, count: int, axes: tuple) -> tuple:
    """:func:`_affine_grads` on the graph: dγ = Σ dy·x̂, dβ = Σ dy over ``axes``."""
    need = op.needs_input_grad
    grads = []
    if count:
        grads.append((dy * x_hat).sum(axes) if need[1] else None)
    if count == 2:
        grads.append(dy.sum(axes) if need[2] else None)
    return tuple(grads)


def affine_inputs(weight, bias) -> tuple:
    """The (weight, bias) inputs of a normalisation op: none, weight alone, or both
    (a bias without a weight gets a constant weight of ones)."""
    if weight is None and bias is None:
        return ()
    if weight is None:
        weight = Tensor(array_module(bias.data).ones(bias.shape, dtype=bias.dtype))
    return (weight,) if bias is None else (weight, bias)


def _array(value):
    return value.data if isinstance(value, Tensor) else value


@public()
def batch_norm(x: Tensor, running_mean=None, running_var=None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch norm over every axis but axis 1. x: (N, C, *), weight/bias/running stats: (C,).

    training=True uses the batch statistics and updates ``running_mean`` and
    ``running_var`` (Tensors or arrays) in place; training=False uses them.
    """
    op = BatchNorm(_array(running_mean), _array(running_var), training, momentum, eps)
    return op(x, *affine_inputs(weight, bias))


@public()
def layer_norm(x: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Layer norm over the last axes. x: (*, *normalized_shape), weight/bias: normalized_shape."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    return LayerNorm(normalized_shape, eps)(x, *affine_inputs(weight, bias))


@public()
def group_norm(x: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Group normalisation (PyTorch's ``F.group_norm``): the channels split into ``num_groups``
    groups, each sample's group normalised over its channels and positions (layer_norm on the
    group as one row), then γ and β per channel. x: (N, C, *), weight, bias: (C,)."""
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ShapeError(f"group_norm: expected input (N, C, *) with C divisible by num_groups={num_groups}, "
                         f"got {x.shape}")
    rows = x.reshape(x.shape[0], num_groups, -1)
    y = LayerNorm((rows.shape[-1],), eps)(rows).reshape(x.shape)
    per_channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(per_channel)
    return y if bias is None else y + bias.reshape(per_channel)


@public()
def instance_norm(x: Tensor, running_mean=None, running_var=None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Instance normalisation (PyTorch's ``F.instance_norm``): each sample's channel normalised over
    its positions: group_norm with one group per channel. Running statistics are not supported yet."""
    if running_mean is not None or running_var is not None or not use_input_stats:
        raise NotImplementedError("instance_norm: running statistics (track_running_stats) are not supported yet")
    return group_norm(x, x.shape[1], weight, bias, eps)
