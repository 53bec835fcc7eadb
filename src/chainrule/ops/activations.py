"""Activation functions: elementwise nonlinearities, and softmax over an axis.

Shapes: x: S → y: S.
"""
from __future__ import annotations

import math

import numpy

from .. import kernels
from ..backend import array_module
from ..tensor import Function, Tensor
from .dtypes import floating
from .elementwise import Clip, where
from .reductions import reduced_axes, stable_max
from .registry import public, register


@register("relu")
class ReLU(Function):
    saved_names = ("y",)

    def forward(self, x):
        y = kernels.relu(x)
        if y is None:
            # NumPy: against a row of zeros, not the scalar 0, whose loop branches on each
            # element's sign and runs 2-3x slower on mixed-sign activations. On a GPU the scalar
            # saves the launch that makes the row.
            xp = array_module(x)
            y = xp.maximum(x, xp.zeros(x.shape[-1:], dtype=x.dtype) if xp is numpy else x.dtype.type(0))
        self.save_for_backward(y)
        return y

    formula = "y = max(x, 0) ⇒ dx = dy·[x > 0]"

    def backward(self, dy):
        # [x > 0] read as [y > 0]; 0 at x = 0, as PyTorch
        (y,) = self.saved_tensors
        dx = kernels.relu_backward(y, dy)
        return (dy * (y > 0) if dx is None else dx,)

    def backward_graph(self, dy):
        # [x > 0] is piecewise constant: a constant on the graph, so d²y/dx² = 0
        (y,) = self.saved_tensors
        return (dy * Tensor((y > 0).astype(dy.dtype)),)


@public("relu")
def relu(a: Tensor) -> Tensor:
    return ReLU()(a)


@register("leaky_relu")
class LeakyReLU(Function):
    """y = x for x > 0, negative_slope·x otherwise."""

    def __init__(self, negative_slope: float = 0.01):
        self.slope = float(negative_slope)

    saved_names = ("positive",)

    def forward(self, x):
        positive = x > 0
        self.save_for_backward(positive)
        return array_module(x).where(positive, x, x * self.slope)

    @property
    def formula(self) -> str:
        a = self.slope
        return f"y = x or {a}·x ⇒ dx = dy·[x > 0] + {a}·dy·[x ≤ 0]"

    def backward(self, dy):
        # the slope applies at x = 0, as PyTorch
        (positive,) = self.saved_tensors
        return (array_module(dy).where(positive, dy, dy * self.slope),)

    def backward_graph(self, dy):
        (positive,) = self.saved_tensors
        return (where(Tensor(positive), dy, dy * self.slope),)


@public("leaky_relu")
def leaky_relu(a: Tensor, negative_slope: float = 0.01) -> Tensor:
    return LeakyReLU(negative_slope)(a)


def _stable_sigmoid(x):
    """σ(x) through e^(−|x|): no exp overflows, whatever the sign of x."""
    xp = array_module(x)
    e = xp.exp(-xp.abs(x))
    r = 1.0 / (1.0 + e)
    return xp.where(x >= 0, r, e * r)


@register("sigmoid")
class Sigmoid(Function):
    """y = 1 / (1 + e⁻ˣ), through e^(−|x|) so that no exp overflows for large |x|."""

    saved_names = ("y",)

    def forward(self, x):
        y = _stable_sigmoid(x)
        self.save_for_backward(y)
        return y

    formula = "y = σ(x) ⇒ dx = dy·y·(1 − y)"

    def backward(self, dy):
        (y,) = self.saved_tensors
        return (dy * y * (1.0 - y),)

    def backward_graph(self, dy):
        y = sigmoid(self.inputs[0])
        return (dy * y * (1.0 - y),)


@public("sigmoid")
def sigmoid(a: Tensor) -> Tensor:
    return Sigmoid()(floating(a))


@register("tanh")
class Tanh(Function):
    saved_names = ("y",)

    def forward(self, x):
        y = array_module(x).tanh(x)
        self.save_for_backward(y)
        return y

    formula = "y = tanh x ⇒ dx = dy·(1 − y²)"

    def backward(self, dy):
        (y,) = self.saved_tensors
        return (dy * (1.0 - y * y),)

    def backward_graph(self, dy):
        y = tanh(self.inputs[0])
        return (dy * (1.0 - y * y),)


@public("tanh")
def tanh(a: Tensor) -> Tensor:
    return Tanh()(floating(a))


@register("silu")
class SiLU(Function):
    """y = x·σ(x) (also called swish)."""

    saved_names = ("x", "s")

    def forward(self, x):
        s = _stable_sigmoid(x)
        self.save_for_backward(x, s)
        return x * s

    formula = "y = x·σ(x) ⇒ dx = dy·(σ(x) + x·σ(x)·(1 − σ(x)))"

    def backward(self, dy):
        x, s = self.saved_tensors
        return (dy * (s * (1.0 + x * (1.0 - s))),)

    def backward_graph(self, dy):
        (x,) = self.inputs
        s = sigmoid(x)
        return (dy * (s * (1.0 + x * (1.0 - s))),)


@public("silu")
def silu(a: Tensor) -> Tensor:
    return SiLU()(floating(a))


@register("elu")
class ELU(Function):
    """y = x for x > 0, α·(eˣ − 1) otherwise."""

    saved_names = ("positive", "y")

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)

    def forward(self, x):
        xp = array_module(x)
        positive = x > 0
        y = xp.where(positive, x, self.alpha * xp.expm1(xp.minimum(x, 0)))
        self.save_for_backward(positive, y)
        return y

    @property
    def formula(self) -> str:
        a = f"{self.alpha:g}"
        return f"y = x or {a}·(eˣ − 1) ⇒ dx = dy·[x > 0] + dy·(y + {a})·[x ≤ 0]"

    def backward(self, dy):
        # for x ≤ 0: dy/dx = α·eˣ = y + α, computed from the output
        positive, y = self.saved_tensors
        return (array_module(dy).where(positive, dy, dy * (y + self.alpha)),)

    def backward_graph(self, dy):
        positive, (x,) = Tensor(self.saved_tensors[0]), self.inputs
        return (where(positive, dy, dy * (where(positive, 0.0, x).exp() * self.alpha)),)


@public("elu")
def elu(a: Tensor, alpha: float = 1.0) -> Tensor:
    return ELU(alpha)(floating(a))


def erf_via_math(x):
    """erf elementwise through ``math.erf``: exact to double precision, slower than
    a ufunc. Used when SciPy is not installed (it is not a runtime dependency)."""
    return numpy.vectorize(math.erf, otypes=[numpy.float64])(x).astype(x.dtype, copy=False)


try:
    from scipy.special import erf as _numpy_erf
except ImportError:
    _numpy_erf = erf_via_math


def erf_array(x):
    """The error function of an array: SciPy's ufunc when SciPy is installed, else
    :func:`erf_via_math`; CuPy's on a GPU array."""
    xp = array_module(x)
    if xp is numpy:
        return _numpy_erf(x)
    if xp.__name__ == "cupy":
        from cupyx.scipy.special import erf as cupy_erf

        return cupy_erf(x)
    return xp.asarray(_numpy_erf(xp.asnumpy(x)))


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@register("erf")
class Erf(Function):
    saved_names = ("x",)

    def forward(self, x):
        self.save_for_backward(x)
        return erf_array(x)

    formula = "y = erf x ⇒ dx = dy·(2/√π)·e^(−x²)"

    def backward(self, dy):
        (x,) = self.saved_tensors
        return (dy * (_TWO_OVER_SQRT_PI * array_module(x).exp(-(x * x))),)

    def backward_graph(self, dy):
        (x,) = self.inputs
        return (dy * ((-(x * x)).exp() * _TWO_OVER_SQRT_PI),)


@public("erf")
def erf(a: Tensor) -> Tensor:
    """The error function, 2/√π ∫₀ˣ e^(−t²) dt (``torch.erf``)."""
    return Erf()(floating(a))


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


@register("gelu")
class GELU(Function):
    """y = x·Φ(x), Φ the standard normal CDF.

    ``approximate="none"`` computes Φ(x) = ½(1 + erf(x/√2)) exactly (see :func:`erf_array`);
    ``"tanh"`` uses ½(1 + tanh(√(2/π)(x + 0.044715x³))), as PyTorch's option.
    """

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    saved_names = ("x", "t_or_cdf")

    def forward(self, x):
        if self.approximate == "none":
            cdf = 0.5 * (1.0 + erf_array(x * _SQRT_HALF))
            self.save_for_backward(x, cdf)
            return x * cdf
        t = array_module(x).tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * (x * x * x)))
        self.save_for_backward(x, t)
        return 0.5 * x * (1.0 + t)

    @property
    def formula(self) -> str:
        if self.approximate == "none":
            return "y = x·Φ(x) ⇒ dx = dy·(Φ(x) + x·φ(x))"
        return ("y = ½x(1 + t), t = tanh(√(2/π)(x + 0.044715x³)) "
                "⇒ dx = dy·(½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²))")

    def backward(self, dy):
        x, cdf_or_t = self.saved_tensors
        if self.approximate == "none":
            pdf = array_module(x).exp(-0.5 * (x * x)) * _INV_SQRT_2PI  # φ(x) = e^(−x²/2)/√(2π)
            return (dy * (cdf_or_t + x * pdf),)
        t = cdf_or_t
        du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_CUBIC * (x * x))
        return (dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du),)

    def backward_graph(self, dy):
        (x,) = self.inputs
        if self.approximate == "none":
            cdf = (Erf()(x * _SQRT_HALF) + 1.0) * 0.5
            pdf = ((x * x) * -0.5).exp() * _INV_SQRT_2PI
            return (dy * (cdf + x * pdf),)
        t = tanh((x + (x * x * x) * _GELU_CUBIC) * _SQRT_2_OVER_PI)
        du = ((x * x) * (3.0 * _GELU_CUBIC) + 1.0) * _SQRT_2_OVER_PI
        return (dy * ((t + 1.0) * 0.5 + x * 0.5 * (1.0 - t * t) * du),)


@public("gelu")
def gelu(a: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x); approximate="tanh" for the tanh formula (as PyTorch)."""
    return GELU(approximate)(floating(a))


@register("softplus")
class Softplus(Function):
    """y = log(1 + e^(βx))/β, and y = x where βx > threshold (PyTorch semantics:
    there the two agree to float precision and the exp would overflow)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        self.beta = float(beta)
        self.threshold = float(threshold)

    saved_names = ("linear", "sigmoid")

    def forward(self, x):
        xp = array_module(x)
        z = x * self.beta
        linear = z > self.threshold
        ez = xp.exp(xp.where(linear, 0, z))
        self.save_for_backward(linear, ez / (1.0 + ez) if self.needs_input_grad[0] else None)
        return xp.where(linear, x, xp.log1p(ez) / self.beta)

    @property
    def formula(self) -> str:
        beta, threshold = f"{self.beta:g}", f"{self.threshold:g}"
        return (f"y = log(1 + e^({beta}x))/{beta}, or x where {beta}x > {threshold} "
                f"⇒ dx = dy·σ({beta}x), or dy where {beta}x > {threshold}")

    def backward(self, dy):
        linear, sigmoid = self.saved_tensors
        return (array_module(dy).where(linear, dy, dy * sigmoid),)

    def backward_graph(self, dy):
        linear, (x,) = Tensor(self.saved_tensors[0]), self.inputs
        return (where(linear, dy, dy * sigmoid(x * self.beta)),)


@public("softplus")
def softplus(a: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(βa))/β, and a itself where βa > threshold (as PyTorch)."""
    return Softplus(beta, threshold)(floating(a))


@register("softmax")
class Softmax(Function):
    """y = e^(x − m) / Σ_axis e^(x − m), m the max over the axis (no overflow)."""

    def __init__(self, axis=-1):
        self.axis = axis

    saved_names = ("y",)

    def forward(self, x):
        xp = array_module(x)
        self.axes = reduced_axes(self.axis, x.ndim, "softmax")
        e = xp.exp(x - stable_max(x, self.axes))
        e /= e.sum(axis=self.axes, keepdims=True)
        self.save_for_backward(e)
        return e

    formula = "y = eˣ/Σ_axis eˣ ⇒ dx = y·(dy − Σ_axis dy·y)"

    def backward(self, dy):
        # the Jacobian diag(y) − y·yᵀ applied to dy
        (y,) = self.saved_tensors
        return (y * (dy - (dy * y).sum(axis=self.axes, keepdims=True)),)

    def backward_graph(self, dy):
        y = Softmax(self.axis)(self.inputs[0])
        return (y * (dy - (dy * y).sum(self.axes, keepdims=True)),)


@public("softmax")
def softmax(a: Tensor, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Along ``axis`` (PyTorch: ``dim``); the last one by default."""
    if axis is not None and dim is not None:
        raise TypeError("softmax: give dim (PyTorch's name) or axis (NumPy's), not both")
    return Softmax(-1 if axis is None and dim is None else axis if dim is None else dim)(floating(a))


@register("log_softmax")
class LogSoftmax(Function):
    """y = (x − m) − log Σ_axis e^(x − m), m the max over the axis (no overflow)."""

    def __init__(self, axis=-1):
        self.axis = axis

    saved_names = ("y",)

    def forward(self, x):
        xp = array_module(x)
        self.axes = reduced_axes(self.axis, x.ndim, "log_softmax")
        shifted = x - stable_max(x, self.axes)
        with numpy.errstate(divide="ignore"):
            y = shifted - xp.log(xp.exp(shifted).sum(axis=self.axes, keepdims=True))
        self.save_for_backward(y)
        return y

    formula = "y = x − log Σ_axis eˣ ⇒ dx = dy − softmax(x)·Σ_axis dy"

    def backward(self, dy):
        # softmax(x) = eʸ
        (y,) = self.saved_tensors
        return (dy - array_module(y).exp(y) * dy.sum(axis=self.axes, keepdims=True),)

    def backward_graph(self, dy):
        return (dy - Softmax(self.axis)(self.inputs[0]) * dy.sum(self.axes, keepdims=True),)


@public("log_softmax")
def log_softmax(a: Tensor, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Along ``axis`` (PyTorch: ``dim``); the last one by default."""
    if axis is not None and dim is not None:
        raise TypeError("log_softmax: give dim (PyTorch's name) or axis (NumPy's), not both")
    return LogSoftmax(-1 if axis is None and dim is None else axis if dim is None else dim)(floating(a))


@register("mish")
class Mish(Function):
    """y = x·tanh(softplus(x)), softplus(x) = log(1 + eˣ)."""

    saved_names = ("x",)

    def forward(self, x):
        self.save_for_backward(x)
        xp = array_module(x)
        return x * xp.tanh(xp.logaddexp(x, 0))

    formula = "y = x·tanh(s), s = log(1 + eˣ) ⇒ dx = dy·(tanh(s) + x·(1 − tanh²(s))·σ(x))"

    def backward(self, dy):
        (x,) = self.saved_tensors
        xp = array_module(x)
        t = xp.tanh(xp.logaddexp(x, 0))
        return (dy * (t + x * (1.0 - t * t) * _stable_sigmoid(x)),)

    def backward_graph(self, dy):
        (x,) = self.inputs
        t = tanh(Softplus()(x))
        return (dy * (t + x * (1.0 - t * t) * sigmoid(x)),)


@public("mish")
def mish(a: Tensor) -> Tensor:
    return Mish()(floating(a))


@register("hardswish")
class Hardswish(Function):
    """y = x·relu6(x + 3)/6: 0 below −3, x above 3, x(x + 3)/6 between."""

    saved_names = ("x",)

    def forward(self, x):
        self.save_for_backward(x)
        return x * array_module(x).clip(x + 3.0, 0.0, 6.0) / 6.0

    formula = "y = x·min(max(x + 3, 0), 6)/6 ⇒ dx = dy·(0 for x < −3, (2x + 3)/6 for −3 ≤ x ≤ 3, 1 above)"

    def _slope(self, x, xp):
        # PyTorch's convention at the kinks: (2x + 3)/6 on [−3, 3] (so −½ at −3, 3/2 at 3)
        return xp.where(x < -3.0, 0.0, xp.where(x <= 3.0, (2.0 * x + 3.0) / 6.0, 1.0)).astype(x.dtype, copy=False)

    def backward(self, dy):
        (x,) = self.saved_tensors
        return (dy * self._slope(x, array_module(x)),)

    def backward_graph(self, dy):
        (x,) = self.inputs
        inner = Tensor((x.data >= -3.0) & (x.data <= 3.0))
        above = Tensor((x.data > 3.0).astype(x.dtype))
        return (dy * (where(inner, (x * 2.0 + 3.0) / 6.0, 0.0) + above),)


@public("hardswish")
def hardswish(a: Tensor) -> Tensor:
    return Hardswish()(floating(a))


@register("hardtanh")
class Hardtanh(Clip):
    """y = min(max(x, min_val), max_val), as clip; PyTorch's hardtanh passes no gradient at the
    bounds themselves, where clamp passes it."""

    def _inside(self, a, xp):
        return (a > self.low) & (a < self.high)

    formula = "y = min(max(a, min_val), max_val) ⇒ da = dy·[min_val < a < max_val]"


@public("hardtanh")
def hardtanh(a: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} is above max_val {max_val}")
    return Hardtanh(min_val, max_val)(a)
