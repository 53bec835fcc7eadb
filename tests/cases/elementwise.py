"""Verification cases for the ops of ``chainrule/ops/elementwise.py``."""
import numpy as np

import chainrule as cr
from oracle import away_from_zero, case, distinct, positive, randn, rng, torch

# -- elementwise -----------------------------------------------------------------
for a_shape, b_shape in [((3, 4), (3, 4)), ((3, 1, 5), (4, 5)), ((1,), (2, 3)), ((0, 3), (3,))]:
    tag = f"{a_shape}x{b_shape}"
    case("add", lambda a, b: a + b, lambda a, b: a + b, randn(*a_shape), randn(*b_shape), id=f"add{tag}")
    case("sub", lambda a, b: a - b, lambda a, b: a - b, randn(*a_shape), randn(*b_shape), id=f"sub{tag}")
    case("mul", lambda a, b: a * b, lambda a, b: a * b, randn(*a_shape), randn(*b_shape), id=f"mul{tag}")
    case("div", lambda a, b: a / b, lambda a, b: a / b, randn(*a_shape), away_from_zero(*b_shape), id=f"div{tag}")
    case("pow", lambda a, b: a**b, lambda a, b: a**b, positive(*a_shape), randn(*b_shape), id=f"pow{tag}")
    case("maximum", cr.maximum, lambda a, b: torch().maximum(a, b), distinct(*a_shape), distinct(*b_shape) + 0.033,
         id=f"maximum{tag}")
    case("minimum", cr.minimum, lambda a, b: torch().minimum(a, b), distinct(*a_shape), distinct(*b_shape) + 0.033,
         id=f"minimum{tag}")
case("add", lambda x: x + x, lambda x: x + x, randn(3, 2), id="add(x,x)")
case("mul", lambda x: x * x, lambda x: x * x, randn(3, 2), id="mul(x,x)")
case("div", lambda x: x / x, lambda x: x / x, away_from_zero(4), id="div(x,x)")
case("sub", lambda x: x - 2.5 * x, lambda x: x - 2.5 * x, randn(5), id="sub(x,2.5x)")
case("neg", lambda a: -a, lambda a: -a, randn(2, 3))
case("pow_scalar", lambda a: a**3, lambda a: a**3, randn(3, 4), id="pow_scalar3")
case("pow_scalar", lambda a: a**-0.5, lambda a: a**-0.5, positive(5), id="pow_scalar-0.5")
case("pow", lambda a: a**a, lambda a: a**a, positive(4), id="pow(x,x)")
case("exp", cr.exp, lambda a: a.exp(), randn(2, 3))
case("log", cr.log, lambda a: a.log(), positive(2, 3))
case("sqrt", cr.sqrt, lambda a: a.sqrt(), positive(2, 3))
case("abs", cr.abs, lambda a: a.abs(), away_from_zero(3, 3))
for shape in [(1,), (0, 3), (2, 1, 3)]:
    tag = f"{shape}"
    case("neg", lambda a: -a, lambda a: -a, randn(*shape), id=f"neg{tag}")
    case("exp", cr.exp, lambda a: a.exp(), randn(*shape), id=f"exp{tag}")
    case("log", cr.log, lambda a: a.log(), positive(*shape), id=f"log{tag}")
    case("sqrt", cr.sqrt, lambda a: a.sqrt(), positive(*shape), id=f"sqrt{tag}")
    case("abs", cr.abs, lambda a: a.abs(), away_from_zero(*shape), id=f"abs{tag}")
    case("cast", lambda a: cr.cast(cr.cast(a, np.float64) * 3.0, a.dtype), None, randn(*shape), id=f"cast{tag}")
case("exp", lambda x: cr.exp(x) * x, lambda x: x.exp() * x, randn(4), id="exp(x)*x")
_mask = rng.random((3, 4)) > 0.5
case("where", lambda c, a, b: cr.where(c, a, b), lambda c, a, b: torch().where(c, a, b),
     _mask, randn(3, 4), randn(4), id="where(broadcast)")
case("where", lambda c, a, b: cr.where(c, a, b), lambda c, a, b: torch().where(c, a, b),
     rng.random((2, 1, 4)) > 0.5, randn(3, 1), randn(1), id="where(3-way broadcast)")
case("where", lambda c, x: cr.where(c, x, x * 2.0), lambda c, x: torch().where(c, x, x * 2.0),
     rng.random(6) > 0.5, randn(6), id="where(x,2x)")
case("where", lambda c, a, b: cr.where(c, a, b), lambda c, a, b: torch().where(c, a, b),
     np.zeros((0, 2), dtype=bool), randn(0, 2), randn(2), id="where(empty)")
case("clip", lambda a: cr.clip(a, -0.5, 0.7), lambda a: a.clamp(-0.5, 0.7), distinct(4, 5) * 0.3 + 0.013)
case("clip", lambda a: cr.clip(a, low=0.1), lambda a: a.clamp(min=0.1), distinct(6) * 0.3 + 0.013, id="clip(low)")
case("cast", lambda a: cr.cast(cr.cast(a, np.float64) * 3.0, a.dtype), None, randn(3), id="cast(up,down)")

# -- PyTorch's edge classes: integer operands, exponents at 0 -------------------------
# Integer operands promote as in PyTorch (ops/dtypes.py); the cast back to w's dtype keeps float64 checks float64.
_ints, _more_ints = np.array([[3, -2, 5], [1, 4, -6]]), np.array([2, 7, -3])
for op, ours, theirs in [  # each computes in float32 in both libraries: their roundings may differ
    ("div", lambda i, j: i / j, lambda i, j: i / j),
    ("add", lambda i, j: i + 0.5, lambda i, j: i + 0.5),
    ("sub", lambda i, j: 0.25 - j, lambda i, j: 0.25 - j),
    ("mul", lambda i, j: i * 1.5, lambda i, j: i * 1.5),
    ("maximum", lambda i, j: cr.maximum(i, j), lambda i, j: torch().maximum(i, j)),
    ("minimum", lambda i, j: cr.minimum(i, j), lambda i, j: torch().minimum(i, j)),
    ("pow", lambda i, j: 0.7 ** j, lambda i, j: 0.7 ** j),
    ("pow_scalar", lambda i, j: abs(i) ** 0.5, lambda i, j: i.abs() ** 0.5),
    ("exp", lambda i, j: cr.exp(i), lambda i, j: i.exp()),
    ("log", lambda i, j: cr.log(abs(i)), lambda i, j: i.abs().log()),
    ("sqrt", lambda i, j: cr.sqrt(abs(i)), lambda i, j: i.abs().sqrt()),
    ("abs", lambda i, j: abs(i) * 1.0, lambda i, j: i.abs() * 1.0),
    ("neg", lambda i, j: -i / 2, lambda i, j: -i / 2),
]:
    case(op, lambda i, j, w, f=ours: f(cr.tensor(i), cr.tensor(j)).astype(w.dtype) * w,
         lambda i, j, w, f=theirs: f(i, j).to(w.dtype) * w, _ints, _more_ints, randn(2, 3), id=f"{op}(int64)",
         forward_rtol=1e-6)
# Exponents at 0 (x ** 0 is the constant 1: zero gradient, also at x = 0) and at 0 beside a base of 0.
_bases = np.array([0.0, 0.0, 1.5, -0.5, 0.0])
case("pow_scalar", lambda a: a**0.0, lambda a: a**0.0, _bases, id="pow_scalar(x**0, x=0)")
case("pow_scalar", lambda a: a**0, lambda a: a**0, _bases, id="pow_scalar(x**int 0, x=0)")
case("pow_scalar", lambda a: a**1.0, lambda a: a**1.0, _bases, id="pow_scalar(x**1, x=0)")
case("pow_scalar", lambda a: a**2, lambda a: a**2, _bases, id="pow_scalar(x**2, x=0)")
# At second order torch keeps its masks' convention where the mathematics has a value: at a = e = 0 it gives
# NaN for ∂²y/∂a² (y = a⁰ = 1, so 0), and at e = 0 it gives 0 for ∂²y/∂a∂e (= 1/a). Finite differences agree with ours.
case("pow", lambda a, e: a ** e, lambda a, e: a ** e, _bases, np.array([0, 0, 0, 2, 1]), id="pow(x**e, e=0 at x=0)",
     torch_second_order=False)
case("pow", lambda a, e: a ** e, lambda a, e: a ** e, np.array([1.5, 0.5, 2.0]), np.array([0.0, 0.0, 1.0]),
     id="pow(x**e, e=0 differentiable)", torch_second_order=False)

# A condition on an integer tensor, an integer and a float branch: the default float dtype.
case("where", lambda i, w: cr.where(cr.tensor(i) > 0, cr.tensor(i), 0.5).astype(w.dtype) * w,
     lambda i, w: torch().where(i > 0, i, 0.5).to(w.dtype) * w,
     np.array([[2, -1, 0, 3], [-4, 1, 1, 0]]), randn(1, 4), id="where(int64)", forward_rtol=1e-6)

# -- log1p, expm1, rsqrt, reciprocal, square ------------------------------------------------------
for tag, shape in [("", (3, 4)), ("(empty)", (0, 2)), ("(0-d)", ())]:
    case("log1p", cr.log1p, lambda a: a.log1p(), positive(*shape) - 0.4, id=f"log1p{tag}")
    case("expm1", cr.expm1, lambda a: a.expm1(), randn(*shape), id=f"expm1{tag}")
    case("rsqrt", cr.rsqrt, lambda a: a.rsqrt(), positive(*shape), id=f"rsqrt{tag}")
    case("reciprocal", cr.reciprocal, lambda a: a.reciprocal(), away_from_zero(*shape), id=f"reciprocal{tag}")
    case("square", cr.square, lambda a: a.square(), randn(*shape), id=f"square{tag}")
case("log1p", lambda a: cr.log1p(a * 1e-9), lambda a: (a * 1e-9).log1p(), randn(4), id="log1p(tiny)")
case("expm1", lambda a: a.expm1() * a, lambda a: a.expm1() * a, randn(5), id="expm1(x)*x")
case("square", lambda i, w: cr.square(cr.tensor(i)).astype(w.dtype) * w, lambda i, w: i.square().to(w.dtype) * w,
     np.array([3, -2, 0]), randn(3), id="square(int64)")

# -- clamp with Tensor bounds, lerp ------------------------------------------------------------------
_x, _low, _high = distinct(3, 4) * 0.3, distinct(4) * 0.2 - 0.3 + 0.011, distinct(3, 1) * 0.2 + 0.4 + 0.017
case("clamp", lambda x, lo, hi: cr.clamp(x, lo, hi), lambda x, lo, hi: x.clamp(lo, hi), _x, _low, _high, id="clamp(tensors)")
case("clamp", lambda x, lo: x.clamp(min=lo), lambda x, lo: x.clamp(min=lo), _x, _low, id="clamp(min tensor)")
case("clamp", lambda x, hi: x.clip(max=hi), lambda x, hi: x.clip(max=hi), _x, _high, id="clamp(max tensor)")
case("clamp", lambda x: cr.clamp(x, x * 0.5 - 0.1, 0.3 * x * x + 0.2), lambda x: x.clamp(x * 0.5 - 0.1, 0.3 * x * x + 0.2),
     distinct(7) * 0.37 + 0.013, id="clamp(x, f(x), g(x))")
case("clamp", lambda x, hi: cr.clamp(x, 0.1, hi), None, _x, _high, id="clamp(number, tensor)")
case("clip", lambda x: x.clamp(min=0.1, max=0.5), lambda x: x.clamp(min=0.1, max=0.5), distinct(6) * 0.3 + 0.013,
     id="clamp(numbers)")
for shapes in [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), (1, 4)), ((0, 2), (2,), (1,))]:
    case("lerp", cr.lerp, lambda s, e, w: torch().lerp(s, e, w), *(randn(*shape) for shape in shapes),
         id=f"lerp{shapes}")
case("lerp", lambda s, e: cr.lerp(s, e, 0.25), lambda s, e: torch().lerp(s, e, 0.25), randn(3, 2), randn(3, 2),
     id="lerp(number weight)")
case("lerp", lambda x: cr.lerp(x, x * x, x), lambda x: torch().lerp(x, x * x, x), randn(5), id="lerp(x,x²,x)")

case("mul", cr.outer, lambda a, b: torch().outer(a, b), randn(3), randn(4), id="outer")

# -- masked_fill, tril, triu (compositions of where) ---------------------------------------------------
_fill_mask = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])
case("where", lambda a: a.masked_fill(_fill_mask, -2.0), lambda a: a.masked_fill(torch().tensor(_fill_mask), -2.0),
     randn(3, 4), id="masked_fill")
case("where", lambda a: a.masked_fill(_fill_mask[0], float("-inf")).softmax(-1),
     lambda a: a.masked_fill(torch().tensor(_fill_mask[0]), float("-inf")).softmax(-1), randn(3, 4),
     id="masked_fill(-inf) then softmax")
for diagonal in (0, 1, -1):
    case("where", lambda a, d=diagonal: a.tril(d), lambda a, d=diagonal: a.tril(d), randn(3, 4), id=f"tril({diagonal})")
    case("where", lambda a, d=diagonal: a.triu(d), lambda a, d=diagonal: a.triu(d), randn(2, 3, 3), id=f"triu({diagonal})")

# -- cosine_embedding_loss (a composition of mul, sum, sqrt, where, maximum): filed under where ---------
for reduction in ("mean", "sum", "none"):
    case("where", lambda a, b, t, r=reduction: cr.cosine_embedding_loss(a, b, t, margin=0.1, reduction=r),
         lambda a, b, t, r=reduction: torch().nn.functional.cosine_embedding_loss(a, b, t, margin=0.1, reduction=r),
         randn(5, 3), randn(5, 3), np.array([1, -1, -1, 1, -1]), id=f"cosine_embedding_loss({reduction})")
