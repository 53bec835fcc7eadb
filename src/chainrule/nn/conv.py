"""Convolution layers: Conv2d (one op), Conv1d and ConvTranspose2d (built on it and on its input gradient)."""
from __future__ import annotations

import math

import numpy

from .. import backend
from ..ops import conv
from ..ops.im2col import pair
from ..tensor import Tensor
from . import init
from .checks import check_dtype, check_size
from .module import Module
from .parameter import Parameter


class Conv2d(Module):
    """2-D convolution (PyTorch's cross-correlation), one ``ops.Conv2d``.

    x: (N, in_channels, H, W) → y: (N, out_channels, H_out, W_out). ``weight`` is
    (out_channels, in_channels/groups, kH, kW) and ``bias`` (out_channels,), as in
    PyTorch, and both start as PyTorch starts them: W ~ kaiming_uniform(a=√5), i.e.
    U(±1/√fan_in), and b ~ U(±1/√fan_in), with fan_in = in_channels/groups·kH·kW.
    kernel_size, stride, padding and dilation: an int or an (h, w) pair.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, dtype=numpy.float32):
        super().__init__()
        in_channels, out_channels, groups = _channels("Conv2d", in_channels, out_channels, groups)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size, "Conv2d", "kernel_size", 1)
        self.stride = pair(stride, "Conv2d", "stride", 1)
        self.padding = pair(padding, "Conv2d", "padding", 0)
        self.dilation = pair(dilation, "Conv2d", "dilation", 1)
        self.groups = groups
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(backend.xp.empty(shape, dtype=dtype))
        self.bias = Parameter(backend.xp.empty((out_channels,), dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_like_pytorch(self.weight, self.bias)

    def as_function(self):
        function = conv.Conv2d(self.stride, self.padding, self.dilation, self.groups)
        return function, (self.weight,) if self.bias is None else (self.weight, self.bias)

    def check_input(self, x: Tensor) -> None:
        check_dtype(self.label(), x, self.weight.dtype)

    def label(self) -> str:
        return f"Conv2d({self.in_channels} → {self.out_channels}, kernel_size={self.kernel_size})"

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(Module):
    """1-D convolution (PyTorch's ``nn.Conv1d``): conv2d on a height of 1.

    x: (N, in_channels, L) → y: (N, out_channels, L_out); ``weight`` (out_channels,
    in_channels/groups, kernel_size) and ``bias`` start as PyTorch starts them.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1, groups: int = 1, bias: bool = True, dtype=numpy.float32):
        super().__init__()
        in_channels, out_channels, groups = _channels("Conv1d", in_channels, out_channels, groups)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.dilation, self.groups = (
            kernel_size, stride, padding, dilation, groups)
        self.weight = Parameter(backend.xp.empty((out_channels, in_channels // groups, kernel_size), dtype=dtype))
        self.bias = Parameter(backend.xp.empty((out_channels,), dtype=dtype)) if bias else None
        _reset_like_pytorch(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        check_dtype(f"Conv1d({self.in_channels} → {self.out_channels})", x, self.weight.dtype)
        return conv.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"


class ConvTranspose2d(Module):
    """The transposed 2-D convolution (PyTorch's ``nn.ConvTranspose2d``): conv2d's input gradient
    as a layer, which upsamples. x: (N, in_channels, H, W) → (N, out_channels, H_out, W_out),
    H_out = (H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1. ``weight`` is
    (in_channels, out_channels/groups, kH, kW), as in PyTorch, and starts as PyTorch starts it.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, dtype=numpy.float32):
        super().__init__()
        in_channels, out_channels, groups = _channels("ConvTranspose2d", in_channels, out_channels, groups)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "ConvTranspose2d", "kernel_size", 1)
        self.stride, self.padding = stride, padding
        self.output_padding, self.dilation = output_padding, dilation
        shape = (in_channels, out_channels // groups, *self.kernel_size)
        self.weight = Parameter(backend.xp.empty(shape, dtype=dtype))
        self.bias = Parameter(backend.xp.empty((out_channels,), dtype=dtype)) if bias else None
        _reset_like_pytorch(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        check_dtype(f"ConvTranspose2d({self.in_channels} → {self.out_channels})", x, self.weight.dtype)
        return conv.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                     self.groups, self.dilation)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"


def _channels(layer: str, in_channels: int, out_channels: int, groups: int) -> tuple[int, int, int]:
    """The three sizes of a convolution layer, checked: positive, and both channel counts divisible by groups."""
    in_channels = check_size(layer, "in_channels", in_channels)
    out_channels = check_size(layer, "out_channels", out_channels)
    groups = check_size(layer, "groups", groups)
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{layer}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                         f"divisible by groups ({groups})")
    return in_channels, out_channels, groups


def _reset_like_pytorch(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's start for a convolution: W ~ kaiming_uniform(a=√5), b ~ U(±1/√fan_in), fan_in
    computed from the weight's second axis on (as PyTorch does, for ConvTranspose too)."""
    init.kaiming_uniform_(weight, a=math.sqrt(5.0))
    if bias is not None:
        fan_in, _ = init.fan_in_and_fan_out(weight)
        bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
        init.uniform_(bias, -bound, bound)
