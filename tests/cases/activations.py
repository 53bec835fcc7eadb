"""Verification cases for the ops of ``chainrule/ops/activations.py``."""
import numpy as np

import chainrule as cr
from oracle import away_from_zero, case, distinct, randn, rng, torch

# -- activations -----------------------------------------------------------------
case("relu", cr.relu, lambda a: a.relu(), away_from_zero(4, 5))
for shape in [(1,), (0, 3), (2, 1, 3)]:
    case("relu", cr.relu, lambda a: a.relu(), away_from_zero(*shape), id=f"relu{shape}")
case("relu", lambda x: cr.relu(x) * cr.relu(-x) + cr.relu(x), lambda x: x.relu() * (-x).relu() + x.relu(),
     away_from_zero(5), id="relu(x)·relu(-x)+relu(x)")

# -- activations -----------------------------------------------------------------
for slope in (0.01, 0.2):
    case("leaky_relu", lambda a, s=slope: cr.leaky_relu(a, s), lambda a, s=slope: torch().nn.functional.leaky_relu(a, s),
         away_from_zero(3, 4), id=f"leaky_relu({slope})")
case("leaky_relu", lambda a: a.leaky_relu() * a, lambda a: torch().nn.functional.leaky_relu(a) * a,
     away_from_zero(5), id="leaky_relu(x)*x")
_extremes = np.array([-800.0, -50.0, -3.0, -0.2, 0.3, 4.0, 50.0, 800.0])
for tag, x in [("randn", randn(3, 4) * 3), ("extremes", _extremes), ("empty", randn(0, 2))]:
    case("sigmoid", cr.sigmoid, lambda a: a.sigmoid(), x, id=f"sigmoid({tag})")
    case("tanh", lambda a: a.tanh(), lambda a: a.tanh(), x, id=f"tanh({tag})")
    for approximate in ("none", "tanh"):
        case("gelu", lambda a, m=approximate: cr.gelu(a, approximate=m),
             lambda a, m=approximate: torch().nn.functional.gelu(a, approximate=m), x, id=f"gelu({approximate},{tag})")
    case("softplus", cr.softplus, lambda a: torch().nn.functional.softplus(a), x, id=f"softplus({tag})")
case("softplus", lambda a: a.softplus(beta=2.0, threshold=5.0),
     lambda a: torch().nn.functional.softplus(a, beta=2.0, threshold=5.0),
     np.array([-3.0, -0.5, 0.7, 1.9, 3.2, 6.0]), id="softplus(beta=2,threshold=5)")
case("sigmoid", lambda x: x.sigmoid() * x.tanh(), lambda x: x.sigmoid() * x.tanh(), randn(4), id="sigmoid(x)*tanh(x)")
case("tanh", lambda x: (x * x).tanh(), lambda x: (x * x).tanh(), randn(2, 3), id="tanh(x*x)")
case("gelu", lambda x: x.gelu() * x, lambda x: torch().nn.functional.gelu(x) * x, randn(4), id="gelu(x)*x")
case("softplus", lambda x: x.softplus() - x, lambda x: torch().nn.functional.softplus(x) - x, randn(4),
     id="softplus(x)-x")

for shape, axis, scale in [((3, 4), -1, 1.0), ((3, 4), 0, 1.0), ((2, 3, 4), 1, 1.0), ((3, 5), -1, 300.0),
                           ((3, 1), 1, 1.0), ((0, 4), -1, 1.0)]:
    tag = f"{shape},axis={axis},scale={scale}"
    # Large logits without near-ties: finite differences at step ~scale·h must not cross a max.
    logits = (distinct(*shape) if scale > 1 else randn(*shape)) * scale
    case("softmax", lambda a, axis=axis: a.softmax(axis=axis), lambda a, axis=axis: a.softmax(dim=axis),
         logits, id=f"softmax({tag})")
    case("log_softmax", lambda a, axis=axis: cr.log_softmax(a, axis=axis), lambda a, axis=axis: a.log_softmax(dim=axis),
         logits, id=f"log_softmax({tag})")
case("softmax", lambda x: x.softmax() * x, lambda x: x.softmax(dim=-1) * x, randn(2, 3), id="softmax(x)*x")
case("log_softmax", lambda x: x.log_softmax(axis=0).exp() - x.softmax(axis=0), lambda x: x.log_softmax(0).exp() - x.softmax(0),
     randn(3, 2), id="exp(log_softmax(x))-softmax(x)")
case("log_softmax", lambda x, w: x.log_softmax() * w, lambda x, w: x.log_softmax(-1) * w,
     randn(4, 3), rng.uniform(0.0, 1.0, (4, 3)), id="log_softmax(x)*w")

# -- PyTorch's edge classes ------------------------------------------------------------------
# 0-d inputs: dim 0 or -1 names a scalar's one dim; softmax gives 1 and log_softmax 0 (zero gradients).
for dim in (0, -1):
    case("softmax", lambda a, d=dim: a.softmax(axis=d) + a, lambda a, d=dim: a.softmax(dim=d) + a, np.array(0.4),
         id=f"softmax(0-d,dim={dim})")
    case("log_softmax", lambda a, d=dim: a.log_softmax(axis=d) * a, lambda a, d=dim: a.log_softmax(dim=d) * a,
         np.array(1.7), id=f"log_softmax(0-d,dim={dim})")
# Integer inputs to the float functions give the default float dtype, as in PyTorch (ops/dtypes.py).
_int_logits = np.array([[2, -1, 0, 3], [-4, 1, 1, 0]])
for op, ours, theirs in [
    ("sigmoid", cr.sigmoid, lambda i: i.sigmoid()),
    ("tanh", cr.tanh, lambda i: i.tanh()),
    ("gelu", cr.gelu, lambda i: torch().nn.functional.gelu(i.float())),
    ("softplus", cr.softplus, lambda i: torch().nn.functional.softplus(i.float())),
    ("softmax", lambda i: cr.softmax(i, -1), lambda i: i.softmax(-1, dtype=torch().float32)),
    ("log_softmax", lambda i: cr.log_softmax(i, 0), lambda i: i.log_softmax(0, dtype=torch().float32)),
]:
    case(op, lambda i, w, f=ours: f(cr.tensor(i)).astype(w.dtype) * w, lambda i, w, f=theirs: f(i).to(w.dtype) * w,
         _int_logits, randn(1, 4), id=f"{op}(int64)", forward_rtol=1e-6)

# -- silu, elu ---------------------------------------------------------------------------------
for tag, x in [("randn", randn(3, 4) * 3), ("extremes", _extremes), ("empty", randn(0, 2))]:
    case("silu", cr.silu, lambda a: torch().nn.functional.silu(a), x, id=f"silu({tag})")
for alpha in (1.0, 0.3):
    case("elu", lambda a, s=alpha: cr.elu(a, s), lambda a, s=alpha: torch().nn.functional.elu(a, s),
         away_from_zero(3, 5), id=f"elu({alpha})")
case("elu", lambda x: cr.elu(x) * x, lambda x: torch().nn.functional.elu(x) * x, _extremes, id="elu(x)*x")

# -- erf ---------------------------------------------------------------------------------------
for tag, x in [("randn", randn(3, 4) * 1.5), ("empty", randn(0, 2)), ("0-d", randn())]:
    case("erf", cr.erf, lambda a: torch().erf(a), x, id=f"erf({tag})")
case("erf", lambda x: x.erf() * x, lambda x: torch().erf(x) * x, randn(5), id="erf(x)*x")

# -- mish, hardswish, hardtanh -----------------------------------------------------------------
_away_from_kinks = np.array([[-4.0, -3.4, -2.9, -1.0], [-0.2, 0.4, 2.9, 3.3], [5.0, -6.0, 0.9, -1.1]])
for tag, x in [("randn", randn(3, 4) * 3), ("empty", randn(0, 2)), ("extremes", _extremes)]:
    # torch's second derivative of mish overflows to NaN at x = 800, where it is 0 (ours, and finite differences)
    case("mish", cr.mish, lambda a: torch().nn.functional.mish(a), x, id=f"mish({tag})",
         torch_second_order=tag != "extremes")
case("hardswish", cr.hardswish, lambda a: torch().nn.functional.hardswish(a), _away_from_kinks, id="hardswish")
case("hardswish", lambda a: cr.hardswish(a) * a, lambda a: torch().nn.functional.hardswish(a) * a, _away_from_kinks,
     id="hardswish(x)*x")
case("hardtanh", cr.hardtanh, lambda a: torch().nn.functional.hardtanh(a), _away_from_kinks / 3, id="hardtanh")
case("hardtanh", lambda a: cr.hardtanh(a, -0.5, 2.0), lambda a: torch().nn.functional.hardtanh(a, -0.5, 2.0),
     _away_from_kinks / 2 + 0.013, id="hardtanh(-0.5,2)")
case("hardtanh", lambda w: cr.hardtanh(cr.tensor([-1.0, 1.0, 0.5], dtype=w.dtype).to(w.device)) * w,
     lambda w: torch().nn.functional.hardtanh(torch().tensor([-1.0, 1.0, 0.5], dtype=w.dtype)) * w, randn(3),
     id="hardtanh(at the bounds)")
