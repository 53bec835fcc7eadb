"""Verification cases for the ops of ``chainrule/ops/trigonometric.py``."""
import numpy as np

import chainrule as cr
from oracle import away_from_zero, case, randn, torch

for tag, x in [("randn", randn(3, 4) * 2), ("empty", randn(0, 3)), ("0-d", randn())]:
    case("sin", cr.sin, lambda a: a.sin(), x, id=f"sin({tag})")
    case("cos", cr.cos, lambda a: a.cos(), x, id=f"cos({tag})")
    case("tan", cr.tan, lambda a: a.tan(), np.clip(x, -1.2, 1.2), id=f"tan({tag})")
case("sin", lambda x: x.sin() * x.cos(), lambda x: x.sin() * x.cos(), randn(5), id="sin(x)*cos(x)")
case("tan", lambda x: x.tan() ** 2, lambda x: x.tan() ** 2, randn(2, 3) * 0.5, id="tan(x)**2")
# a stays off 0, so that finite differences never cross atan2's cut (a = 0 with b < 0, a jump of 2π)
for a_shape, b_shape in [((3, 4), (3, 4)), ((3, 1, 5), (4, 5)), ((0, 2), (2,))]:
    case("atan2", cr.atan2, lambda a, b: torch().atan2(a, b), away_from_zero(*a_shape), away_from_zero(*b_shape),
         id=f"atan2{a_shape}x{b_shape}")
case("atan2", lambda x: cr.atan2(x, x * x + 1.0), lambda x: torch().atan2(x, x * x + 1.0), randn(6), id="atan2(x,x²+1)")
case("atan2", lambda i, w: cr.atan2(cr.tensor(i), 2).astype(w.dtype) * w,
     lambda i, w: torch().atan2(i, torch().tensor(2)).to(w.dtype) * w, np.array([[1, -3], [0, 2]]), randn(2, 2),
     id="atan2(int64)", forward_rtol=1e-6)
