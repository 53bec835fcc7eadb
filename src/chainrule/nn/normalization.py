"""Normalisation layers: BatchNorm1d, BatchNorm2d and LayerNorm."""
from __future__ import annotations

import numpy

from .. import backend
from ..errors import ShapeError
from ..ops import normalization
from ..tensor import Tensor
from .checks import check_dtype, check_size
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    """Batch normalisation over every axis but the channel axis 1 (see ``ops.batch_norm``).

    Subclasses set ``input_ndims`` (the accepted ranks) and ``input_form`` (their
    shapes, for error messages, with {C} for the channels).

    weight (γ, ones) and bias (β, zeros): (num_features,) when ``affine`` (bias=False
    drops the bias). With
    ``track_running_stats`` the buffers running_mean, running_var and
    num_batches_tracked are kept as in PyTorch; training uses batch statistics and
    updates the running ones (momentum=None: a cumulative average), evaluation uses
    the running ones. Without them, batch statistics are used in both modes.
    """

    input_ndims: tuple
    input_form: str

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=numpy.float32, *, bias: bool = True):
        super().__init__()
        xp = backend.xp
        self.num_features = check_size(type(self).__name__, "num_features", num_features, minimum=0)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.weight = Parameter(xp.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(xp.zeros(num_features, dtype=dtype)) if affine and bias else None
        tracking = track_running_stats
        self.register_buffer("running_mean", xp.zeros(num_features, dtype=dtype) if tracking else None)
        self.register_buffer("running_var", xp.ones(num_features, dtype=dtype) if tracking else None)
        self.register_buffer("num_batches_tracked", xp.zeros((), dtype=numpy.int64) if tracking else None)

    def label(self) -> str:
        return f"{type(self).__name__}({self.num_features})"

    def check_input(self, x: Tensor) -> None:
        # The ranks are the layer's (BatchNorm1d or 2d); the op takes any (N, C, *).
        if x.ndim not in self.input_ndims or x.shape[1] != self.num_features:
            expected = self.input_form.format(C=self.num_features)
            raise ShapeError(f"{self.label()}: expected input {expected}, got {x.shape}")
        owned = self.weight if self.weight is not None else self.running_mean
        if owned is not None:
            check_dtype(self.label(), x, owned.dtype)

    def as_function(self):
        """The batch-norm op for this call. In training with running statistics, each call
        counts one batch (``num_batches_tracked``), as PyTorch's forward does."""
        momentum = self.momentum
        tracking = self.running_mean is not None
        if self.training and tracking:
            self.num_batches_tracked.data += 1
            if momentum is None:
                momentum = 1.0 / int(self.num_batches_tracked.data)
        function = normalization.BatchNorm(
            None if not tracking else self.running_mean.data, None if not tracking else self.running_var.data,
            training=self.training or not tracking, momentum=momentum or 0.0, eps=self.eps)
        return function, normalization.affine_inputs(self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm of x: (N, C) or (N, C, L) over N (and L), per channel C → the shape of x."""

    input_ndims = (2, 3)
    input_form = "(N, {C}) or (N, {C}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm of images x: (N, C, H, W) over N, H and W, per channel C → the shape of x."""

    input_ndims = (4,)
    input_form = "(N, {C}, H, W)"


class LayerNorm(Module):
    """Layer normalisation over the last axes, per sample (see ``ops.layer_norm``).

    x: (*, *normalized_shape) → the shape of x. weight (ones) and bias (zeros) have
    ``normalized_shape`` when ``elementwise_affine`` (bias=False drops the bias).
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 dtype=numpy.float32):
        super().__init__()
        xp = backend.xp
        if isinstance(normalized_shape, (int, numpy.integer)):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(check_size("LayerNorm", "normalized_shape", size, minimum=0)
                                      for size in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.weight = Parameter(xp.ones(self.normalized_shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(xp.zeros(self.normalized_shape, dtype=dtype)) if elementwise_affine and bias else None

    def label(self) -> str:
        return f"LayerNorm({self.normalized_shape})"

    def check_input(self, x: Tensor) -> None:
        if self.weight is not None:
            check_dtype(self.label(), x, self.weight.dtype)

    def as_function(self):
        return normalization.LayerNorm(self.normalized_shape, self.eps), normalization.affine_inputs(self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalisation (PyTorch's ``nn.GroupNorm``): each sample's channels in ``num_groups``
    groups, each group normalised over its channels and positions, then a per-channel γ (ones)
    and β (zeros) when ``affine``. x: (N, num_channels, *) → the shape of x."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 dtype=numpy.float32):
        super().__init__()
        self.num_groups = check_size("GroupNorm", "num_groups", num_groups)
        self.num_channels = check_size("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.eps, self.affine = eps, affine
        self.weight = Parameter(backend.xp.ones(num_channels, dtype=dtype)) if affine else None
        self.bias = Parameter(backend.xp.zeros(num_channels, dtype=dtype)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(f"GroupNorm({self.num_groups}, {self.num_channels}): expected input (N, {self.num_channels}, *), "
                             f"got {x.shape}")
        if self.weight is not None:
            check_dtype(f"GroupNorm({self.num_groups}, {self.num_channels})", x, self.weight.dtype)
        return normalization.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class InstanceNorm2d(GroupNorm):
    """Instance normalisation of images (PyTorch's ``nn.InstanceNorm2d``): each sample's channel
    normalised over its H×W positions; γ and β per channel when ``affine`` (False by default, as
    PyTorch). x: (N, num_features, H, W). Running statistics are not supported yet."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False, dtype=numpy.float32):
        if track_running_stats:
            raise NotImplementedError("InstanceNorm2d: track_running_stats=True is not supported yet")
        super().__init__(num_features, num_features, eps, affine, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ShapeError(f"InstanceNorm2d({self.num_channels}): expected input (N, C, H, W), got {x.shape}")
        return super().forward(x)

    def extra_repr(self) -> str:
        return f"{self.num_channels}, eps={self.eps}, affine={self.affine}"
