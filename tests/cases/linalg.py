"""Verification cases for the ops of ``chainrule/ops/linalg.py``."""
import chainrule as cr
from oracle import case, randn, torch

# -- linear algebra --------------------------------------------------------------
for a_shape, b_shape in [((3, 4), (4, 5)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                         ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((0, 4), (4, 3))]:
    case("matmul", lambda a, b: a @ b, lambda a, b: a @ b, randn(*a_shape), randn(*b_shape),
         id=f"matmul{a_shape}@{b_shape}")
case("matmul", lambda x: x @ x, lambda x: x @ x, randn(3, 3), id="matmul(x,x)")

# -- linear -------------------------------------------------------------------------
case("linear", lambda x, W, b: cr.linear(x, W, b), lambda x, W, b: torch().nn.functional.linear(x, W, b),
     randn(5, 4), randn(3, 4), randn(3))
case("linear", lambda x, W: cr.linear(x, W), lambda x, W: torch().nn.functional.linear(x, W),
     randn(2, 5, 4), randn(3, 4), id="linear(batched,no bias)")
