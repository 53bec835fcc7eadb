"""Verification cases for the ops of ``chainrule/ops/rounding.py``: step functions, whose gradient is
0 (finite differences need the inputs off the jumps: 0.1 from every integer, or ±0.3 for sign)."""
import numpy as np

import chainrule as cr
from oracle import case, randn, rng, torch

_between = np.floor(randn(3, 4) * 3) + rng.uniform(0.1, 0.4, (3, 4))   # never within 0.1 of an integer or a half
_signs = rng.choice([-1.0, 1.0], (3, 4)) * rng.uniform(0.3, 2.0, (3, 4))
for op, ours, theirs, x in [
    ("sign", cr.sign, lambda a: a.sign(), _signs),
    ("floor", cr.floor, lambda a: a.floor(), _between),
    ("ceil", cr.ceil, lambda a: a.ceil(), _between),
    ("round", cr.round, lambda a: a.round(), _between),
]:
    case(op, ours, theirs, x, id=op)
    case(op, lambda a, f=ours: f(a) * a, lambda a, f=theirs: f(a) * a, x, id=f"{op}(x)*x")
    case(op, ours, theirs, randn(0, 2), id=f"{op}(empty)")
_hundredths = np.round(randn(3, 4) * 100) / 100 + rng.uniform(-0.001, 0.001, (3, 4))  # 0.004 from every jump
case("round", lambda a: cr.round(a, 2), lambda a: a.round(decimals=2), _hundredths, id="round(decimals=2)")
case("round", lambda w: cr.round(cr.tensor([0.5, 1.5, 2.5, -0.5, -2.5], dtype=w.dtype).to(w.device)) * w,
     lambda w: torch().tensor([0.5, 1.5, 2.5, -0.5, -2.5], dtype=w.dtype).round() * w, randn(5), id="round(halves to even)")
case("sign", lambda w: cr.sign(cr.tensor([0.0, -0.0, 3.0, -2.0], dtype=w.dtype).to(w.device)) * w,
     lambda w: torch().tensor([0.0, -0.0, 3.0, -2.0], dtype=w.dtype).sign() * w, randn(4), id="sign(0)")
case("floor", lambda i, w: cr.floor(cr.tensor(i)).astype(w.dtype) * w,
     lambda i, w: i.floor().to(w.dtype) * w, np.array([3, -2, 0]), randn(3), id="floor(int64)")
