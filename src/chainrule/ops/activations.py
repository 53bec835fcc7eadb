"""Activation functions: elementwise nonlinearities, and softmax over an axis.

Shapes: x: S → y: S.
"""
from __future__ import annotations

import math

import numpy

from .. import backend, kernels
from ..tensor import Function
from .reductions import reduced_axes, stable_max
from .registry import register


@register("relu")
class ReLU(Function):
    formula = "dx = dy·[x > 0]"

    def forward(self, x):
        # Contiguity is checked first: an output allocated and dropped for nothing costs a large
        # batch-last activation (a conv net's) fresh pages, and page faults, in NumPy's path.
        if kernels.AVAILABLE and type(x) is numpy.ndarray and x.flags.c_contiguous:
            # One compiled pass with NumPy's bits, instead of two ufunc calls: at batch size 1
            # the calls cost more than the arithmetic.
            self.y = numpy.empty_like(x)
            try:
                kernels.relu(x, self.y)
                return self.y
            except kernels.DOES_NOT_FIT:
                pass
        # Against a row of zeros, not the scalar 0: NumPy's loop for a scalar operand
        # branches on each element's sign and runs 2-3x slower on mixed-sign activations.
        xp = backend.xp
        self.y = xp.maximum(x, xp.zeros(x.shape[-1:], dtype=x.dtype))
        return self.y

    def backward(self, dy):
        # y = max(x, 0)  ⇒  dx = dy·[x > 0]   (0 at x = 0, as PyTorch)
        y = self.y
        if (kernels.AVAILABLE and type(dy) is numpy.ndarray and dy.shape == y.shape
                and y.flags.c_contiguous and dy.flags.c_contiguous):
            dx = numpy.empty_like(y)
            try:
                kernels.relu_backward(y, dy, dx)
                return (dx,)
            except kernels.DOES_NOT_FIT:
                pass
        return (dy * (y > 0),)


@register("leaky_relu")
class LeakyReLU(Function):
    """y = x for x > 0, negative_slope·x otherwise."""

    formula = "dx = dy·[x > 0] + a·dy·[x ≤ 0]"

    def __init__(self, negative_slope: float = 0.01):
        self.slope = float(negative_slope)

    def forward(self, x):
        self.positive = x > 0
        return backend.xp.where(self.positive, x, x * self.slope)

    def backward(self, dy):
        # y = x or a·x  ⇒  dx = dy·[x > 0] + a·dy·[x ≤ 0]   (slope a at x = 0, as PyTorch)
        return (backend.xp.where(self.positive, dy, dy * self.slope),)


@register("sigmoid")
class Sigmoid(Function):
    """y = 1 / (1 + e⁻ˣ), through e^(−|x|) so that no exp overflows for large |x|."""

    formula = "dx = dy·y·(1 − y)"

    def forward(self, x):
        xp = backend.xp
        e = xp.exp(-xp.abs(x))
        r = 1.0 / (1.0 + e)
        self.y = xp.where(x >= 0, r, e * r)
        return self.y

    def backward(self, dy):
        # y = σ(x)  ⇒  dx = dy·y·(1 − y)
        y = self.y
        return (dy * y * (1.0 - y),)


@register("tanh")
class Tanh(Function):
    formula = "dx = dy·(1 − y²)"

    def forward(self, x):
        self.y = backend.xp.tanh(x)
        return self.y

    def backward(self, dy):
        # y = tanh x  ⇒  dx = dy·(1 − y²)
        y = self.y
        return (dy * (1.0 - y * y),)


def erf_via_math(x):
    """erf elementwise through ``math.erf``: exact to double precision, slower than
    a ufunc. Used when SciPy is not installed (it is not a runtime dependency)."""
    return numpy.vectorize(math.erf, otypes=[numpy.float64])(x).astype(x.dtype, copy=False)


try:
    from scipy.special import erf as _numpy_erf
except ImportError:
    _numpy_erf = erf_via_math


def erf(x):
    """The error function of an array of the active backend: SciPy's ufunc when
    SciPy is installed, else :func:`erf_via_math`; CuPy's on the CuPy backend."""
    if backend.xp is numpy:
        return _numpy_erf(x)
    from cupyx.scipy.special import erf as cupy_erf

    return cupy_erf(x)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


@register("gelu")
class GELU(Function):
    """y = x·Φ(x), Φ the standard normal CDF.

    ``approximate="none"`` computes Φ(x) = ½(1 + erf(x/√2)) exactly (see :func:`erf`);
    ``"tanh"`` uses ½(1 + tanh(√(2/π)(x + 0.044715x³))), as PyTorch's option.
    """

    formula = "dx = dy·(Φ(x) + x·φ(x))"

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        self.x = x
        if self.approximate == "none":
            self.cdf = 0.5 * (1.0 + erf(x * _SQRT_HALF))
            return x * self.cdf
        self.t = backend.xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * (x * x * x)))
        return 0.5 * x * (1.0 + self.t)

    def backward(self, dy):
        x = self.x
        if self.approximate == "none":
            # y = x·Φ(x)  ⇒  dx = dy·(Φ(x) + x·φ(x)),  φ(x) = e^(−x²/2)/√(2π)
            pdf = backend.xp.exp(-0.5 * (x * x)) * _INV_SQRT_2PI
            return (dy * (self.cdf + x * pdf),)
        # y = ½x(1 + t), t = tanh(√(2/π)(x + cx³))  ⇒  dx = dy·(½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3cx²))
        t = self.t
        du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_CUBIC * (x * x))
        return (dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du),)


@register("softplus")
class Softplus(Function):
    """y = log(1 + e^(βx))/β, and y = x where βx > threshold (PyTorch semantics:
    there the two agree to float precision and the exp would overflow)."""

    formula = "dx = dy·σ(βx)"

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        self.beta = float(beta)
        self.threshold = float(threshold)

    def forward(self, x):
        xp = backend.xp
        z = x * self.beta
        self.linear = z > self.threshold
        ez = xp.exp(xp.where(self.linear, 0, z))
        if self.needs_input_grad[0]:
            self.sigmoid = ez / (1.0 + ez)
        return xp.where(self.linear, x, xp.log1p(ez) / self.beta)

    def backward(self, dy):
        # y = log(1 + e^(βx))/β  ⇒  dx = dy·σ(βx);  dx = dy where y = x
        return (backend.xp.where(self.linear, dy, dy * self.sigmoid),)


@register("softmax")
class Softmax(Function):
    """y = e^(x − m) / Σ_axis e^(x − m), m the max over the axis (no overflow)."""

    formula = "dx = y·(dy − Σ_axis dy·y)"

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        xp = backend.xp
        self.axes = reduced_axes(self.axis, x.ndim, "softmax")
        e = xp.exp(x - stable_max(x, self.axes))
        e /= e.sum(axis=self.axes, keepdims=True)
        self.y = e
        return e

    def backward(self, dy):
        # y = eˣ/Σeˣ  ⇒  dx = y·(dy − Σ_axis dy·y)   (the Jacobian diag(y) − y·yᵀ applied to dy)
        y = self.y
        return (y * (dy - (dy * y).sum(axis=self.axes, keepdims=True)),)


@register("log_softmax")
class LogSoftmax(Function):
    """y = (x − m) − log Σ_axis e^(x − m), m the max over the axis (no overflow)."""

    formula = "dx = dy − softmax(x)·Σ_axis dy"

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        xp = backend.xp
        self.axes = reduced_axes(self.axis, x.ndim, "log_softmax")
        shifted = x - stable_max(x, self.axes)
        with numpy.errstate(divide="ignore"):
            self.y = shifted - xp.log(xp.exp(shifted).sum(axis=self.axes, keepdims=True))
        return self.y

    def backward(self, dy):
        # y = x − log Σeˣ  ⇒  dx = dy − softmax(x)·Σ_axis dy,  softmax(x) = eʸ
        return (dy - backend.xp.exp(self.y) * dy.sum(axis=self.axes, keepdims=True),)
