"""A zoo of deliberately broken Functions, each beside its correct twin.

Every broken Function has one classic backward-pass bug and must fail
``cr.gradcheck`` with the diagnosis code in its :class:`Specimen`; its twin (the
same forward, the right backward) must pass. A broken one subclasses its twin and
overrides only what the bug touches.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

import chainrule as cr


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- elementwise ----------------------------------------------------------------
class Subtract(cr.Function):
    """y = a − b."""

    def forward(self, a, b):
        return a - b

    def backward(self, dy):
        return dy, -dy


class SubtractSignFlipped(Subtract):
    def backward(self, dy):
        return dy, dy  # bug: d(a − b)/db is −1


class Square(cr.Function):
    """y = x²."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, dy):
        return (2 * self.x * dy,)


class SquareTimesTwo(Square):
    def backward(self, dy):
        return (2 * (2 * self.x * dy),)  # bug: the 2 of d(x²)/dx applied twice


class Tanh(cr.Function):
    """y = tanh(x)."""

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, dy):
        return (dy * (1 - self.y**2),)


class TanhIgnoresUpstream(Tanh):
    def backward(self, dy):
        return (1 - self.y**2,)  # bug: the local derivative alone, dy dropped


class TanhSumsUpstream(Tanh):
    def backward(self, dy):
        return (dy.sum() * (1 - self.y**2),)  # bug: dy summed instead of used elementwise


class TanhStaleCache(Tanh):
    def forward(self, x):
        if not hasattr(self, "y"):  # bug: computed on the first call only, reused after
            self.y = np.tanh(x)
        return np.tanh(x)


class Multiply(cr.Function):
    """y = a·b (same shapes)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, dy):
        return dy * self.b, dy * self.a


class MultiplySwapped(Multiply):
    def backward(self, dy):
        da, db = super().backward(dy)
        return db, da  # bug: the two gradients in the wrong order


class Relu(cr.Function):
    """y = max(x, 0)."""

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dy):
        return (dy * self.mask,)


class ReluNotPropagated(Relu):
    def backward(self, dy):
        return (np.zeros_like(dy),)  # bug: the gradient stops here


class Abs(cr.Function):
    """y = |x|."""

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, dy):
        return (dy * np.sign(self.x),)


class AbsWithoutSign(Abs):
    def backward(self, dy):
        return (dy,)  # bug: the sign of x is forgotten, so negative inputs get +dy


# -- layers ---------------------------------------------------------------------
class MatVec(cr.Function):
    """y = x·Wᵀ, with x: (N, D_in), W: (D_out, D_in) → y: (N, D_out)."""

    def forward(self, x, W):
        self.x, self.W = x, W
        return x @ W.T

    def backward(self, dy):
        return dy @ self.W, dy.T @ self.x


class MatVecTransposedWeight(MatVec):
    def backward(self, dy):
        return dy @ self.W, self.x.T @ dy  # bug: dW in the shape (D_in, D_out)


class SquareMatrixProduct(cr.Function):
    """y = x·W with a square W: (D, D)."""

    def forward(self, x, W):
        self.x, self.W = x, W
        return x @ W

    def backward(self, dy):
        return dy @ self.W.T, self.x.T @ dy


class SquareMatrixProductTransposed(SquareMatrixProduct):
    def backward(self, dy):
        return dy @ self.W.T, dy.T @ self.x  # bug: dW transposed (the same shape, so no error is raised)


class AddBias(cr.Function):
    """y = x + b, x: (N, D), b: (D,) broadcast over the batch."""

    def forward(self, x, b):
        return x + b

    def backward(self, dy):
        return dy, dy.sum(axis=0)


class AddBiasMissingSum(AddBias):
    def backward(self, dy):
        return dy, dy  # bug: db left in the broadcast shape (N, D)


class AffineAccumulating(MatVec):
    """The seeds' ``self.dW += ...`` style, without the reset."""

    def forward(self, x, W):
        self.dW = np.zeros_like(W)
        return super().forward(x, W)

    def backward(self, dy):
        self.dW += dy.T @ self.x  # bug: accumulates over calls instead of assigning
        return dy @ self.W, self.dW


class SquaredErrorLoss(cr.Function):
    """L = (1/N)·Σ_i ‖p_i − t_i‖², p, t: (N, D) → (); the mean is over the batch."""

    def forward(self, p, t):
        self.diff = p - t
        return (self.diff**2).sum() / len(p)

    def backward(self, dy):
        dp = 2 * self.diff * dy / len(self.diff)
        return dp, -dp


class SquaredErrorLossNoMean(SquaredErrorLoss):
    def backward(self, dy):
        dp = 2 * self.diff * dy  # bug: 1/N forgotten, ×batch size
        return dp, -dp


class Softmax(cr.Function):
    """y = softmax(x) over the last axis."""

    def forward(self, x):
        shifted = x - x.max(axis=-1, keepdims=True)
        e = np.exp(shifted)
        self.y = e / e.sum(axis=-1, keepdims=True)
        return self.y

    def backward(self, dy):
        y = self.y
        return (y * (dy - (dy * y).sum(axis=-1, keepdims=True)),)


class SoftmaxNoProjection(Softmax):
    def backward(self, dy):
        return (self.y * dy,)  # bug: the −y·Σ(dy·y) projection term is missing


class SoftmaxInPlace(Softmax):
    def forward(self, x):
        x -= x.max(axis=-1, keepdims=True)  # bug: the caller's array is overwritten
        np.exp(x, out=x)
        x /= x.sum(axis=-1, keepdims=True)
        self.y = x.copy()
        return self.y


class LayerNorm(cr.Function):
    """x̂ = (x − mean) / √(var + ε) over the last axis (no affine)."""

    eps = 1e-5

    def forward(self, x):
        mu = x.mean(axis=-1, keepdims=True)
        self.inv_std = 1 / np.sqrt(x.var(axis=-1, keepdims=True) + self.eps)
        self.x_hat = (x - mu) * self.inv_std
        return self.x_hat

    def backward(self, dy):
        # dx = (1/σ)·(dy − mean(dy) − x̂·mean(dy·x̂))
        x_hat = self.x_hat
        mean_dy = dy.mean(axis=-1, keepdims=True)
        mean_dy_xhat = (dy * x_hat).mean(axis=-1, keepdims=True)
        return (self.inv_std * (dy - mean_dy - x_hat * mean_dy_xhat),)


class LayerNormMissingMean(LayerNorm):
    def backward(self, dy):
        x_hat = self.x_hat
        mean_dy_xhat = (dy * x_hat).mean(axis=-1, keepdims=True)
        return (self.inv_std * (dy - x_hat * mean_dy_xhat),)  # bug: −mean(dy) is missing


class Transpose(cr.Function):
    """y = xᵀ for a 2-D x."""

    def forward(self, x):
        self.shape = x.shape
        return x.T

    def backward(self, dy):
        return (dy.T,)


class TransposeReshaped(Transpose):
    def backward(self, dy):
        return (dy.reshape(self.shape),)  # bug: a reshape is not a transpose


class ScaleFloat32(cr.Function):
    """y = 3x, kept in the input's dtype."""

    def forward(self, x):
        return 3 * x

    def backward(self, dy):
        return (3 * dy,)


class ScaleUpcasts(ScaleFloat32):
    def backward(self, dy):
        return ((3 * dy).astype(np.float64),)  # bug: a float64 gradient for a float32 input


class Flattened(cr.Function):
    """y = 2x for a 2-D x."""

    def forward(self, x):
        return 2 * x

    def backward(self, dy):
        return (2 * dy,)


class FlattenedWrongShape(Flattened):
    def backward(self, dy):
        return ((2 * dy).ravel(),)  # bug: the gradient comes back flat


class NoisyScale(Flattened):
    def forward(self, x):
        noise = np.random.default_rng().standard_normal(x.shape)  # bug: fresh, unseedable randomness
        return 2 * x + 1e-3 * noise


@dataclasses.dataclass
class Specimen:
    """A broken Function, its correct twin, inputs to check them at, and the expected finding."""

    name: str
    broken: type
    correct: type
    inputs: Callable[[], list]
    code: str
    subject: str | None  # the gradient the diagnosis is about (None: the function as a whole)
    message_contains: str = ""


ZOO = [
    Specimen("sign flip", SubtractSignFlipped, Subtract,
             lambda: [_rng(1).standard_normal((4, 3)), _rng(2).standard_normal((4, 3))], "sign_flipped", "input 1"),
    Specimen("times batch size", SquaredErrorLossNoMean, SquaredErrorLoss,
             lambda: [_rng(3).standard_normal((8, 3)), _rng(4).standard_normal((8, 3))], "scaled", "input 0",
             "sum where a mean was meant over axis 0 of size 8"),
    Specimen("times two", SquareTimesTwo, Square, lambda: [_rng(5).standard_normal((3, 5))], "scaled", "input 0",
             "2×"),
    Specimen("transposed weight gradient", MatVecTransposedWeight, MatVec,
             lambda: [_rng(6).standard_normal((5, 4)), _rng(7).standard_normal((3, 4))], "transposed", "input 1"),
    Specimen("transposed square weight gradient", SquareMatrixProductTransposed, SquareMatrixProduct,
             lambda: [_rng(8).standard_normal((5, 4)), _rng(9).standard_normal((4, 4))], "transposed", "input 1"),
    Specimen("missing broadcast sum", AddBiasMissingSum, AddBias,
             lambda: [_rng(10).standard_normal((5, 3)), _rng(11).standard_normal(3)], "missing_broadcast_sum",
             "input 1", "axis 0 (size 5)"),
    Specimen("ignored upstream gradient", TanhIgnoresUpstream, Tanh, lambda: [_rng(12).standard_normal((3, 4))],
             "ignores_upstream", "input 0"),
    Specimen("upstream gradient replaced by its sum", TanhSumsUpstream, Tanh,
             lambda: [_rng(13).standard_normal((3, 4))], "ignores_upstream", "input 0", "sum"),
    Specimen("accumulating instead of assigning", AffineAccumulating, MatVec,
             lambda: [_rng(14).standard_normal((5, 4)), _rng(15).standard_normal((3, 4))], "accumulates", "input 1"),
    Specimen("stale cache", TanhStaleCache, Tanh, lambda: [_rng(16).standard_normal((3, 4))], "stale_cache",
             "input 0"),
    Specimen("input mutated in place", SoftmaxInPlace, Softmax, lambda: [_rng(17).standard_normal((3, 5))],
             "mutates_input", "input 0", "forward changed input 0"),
    Specimen("gradients of two inputs swapped", MultiplySwapped, Multiply,
             lambda: [_rng(18).standard_normal((4, 3)), _rng(19).standard_normal((4, 3))], "swapped_inputs",
             "input 0"),
    Specimen("softmax backward missing its projection term", SoftmaxNoProjection, Softmax,
             lambda: [_rng(20).standard_normal((3, 5))], "unexplained", "input 0", "softmax"),
    Specimen("layer-norm backward missing a term", LayerNormMissingMean, LayerNorm,
             lambda: [_rng(21).standard_normal((3, 6))], "unexplained", "input 0", "constant along axis 1"),
    Specimen("gradient not propagated", ReluNotPropagated, Relu, lambda: [_rng(22).standard_normal((3, 4))],
             "not_propagated", "input 0"),
    Specimen("sign flipped where the input is negative", AbsWithoutSign, Abs,
             lambda: [_rng(23).standard_normal((3, 4))], "sign_flipped", "input 0", "negative"),
    Specimen("reshape where a transpose was meant", TransposeReshaped, Transpose,
             lambda: [_rng(24).standard_normal((3, 4))], "wrong_layout", "input 0"),
    Specimen("flat gradient", FlattenedWrongShape, Flattened, lambda: [_rng(25).standard_normal((3, 4))],
             "wrong_shape", "input 0"),
    Specimen("float64 gradient for a float32 input", ScaleUpcasts, ScaleFloat32,
             lambda: [_rng(26).standard_normal((3, 4)).astype(np.float32)], "wrong_dtype", "input 0"),
    Specimen("unseedable randomness in forward", NoisyScale, Flattened, lambda: [_rng(27).standard_normal((3, 4))],
             "nondeterministic", None),
]
