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

# -- mm, bmm, outer (matmul and mul), einsum -------------------------------------------------------
case("matmul", cr.mm, lambda a, b: a.mm(b), randn(3, 4), randn(4, 2), id="mm")
case("matmul", cr.bmm, lambda a, b: a.bmm(b), randn(2, 3, 4), randn(2, 4, 5), id="bmm")
for equation, shapes in [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("ijk,ik->j", [(2, 3, 4), (2, 4)]),          # k, i summed; both operands share them
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ij,kj", [(2, 3), (4, 3)]),                  # implicit output: ik
    ("abc,cd->ad", [(2, 3, 4), (4, 5)]),          # b occurs once: its gradient broadcasts
]:
    case("einsum", lambda *xs, e=equation: cr.einsum(e, *xs), lambda *xs, e=equation: torch().einsum(e, *xs),
         *(randn(*shape) for shape in shapes), id=f"einsum({equation})")
case("einsum", lambda x: cr.einsum("ij,jk->ik", x, x), lambda x: torch().einsum("ij,jk->ik", x, x), randn(3, 3),
     id="einsum(x,x)")
