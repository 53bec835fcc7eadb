"""Every op case at second order: the gradient of ⟨V, ∂⟨G, f⟩/∂x⟩ through create_graph=True,
against finite differences of the first-order gradient and against torch (float64)."""
import pytest

from op_cases import CASES
from oracle import check_second_order_finite_differences, check_second_order_torch


@pytest.mark.parametrize("case", [c for c in CASES if c.finite_differences], ids=str)
def test_second_order_finite_differences(case):
    check_second_order_finite_differences(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.torch_fn is not None and c.torch_second_order], ids=str)
def test_second_order_against_torch(case):
    pytest.importorskip("torch")
    check_second_order_torch(case)
