"""Every op case of op_cases.py against finite differences, PyTorch, and float32."""
import pytest

from op_cases import CASES
from oracle import check_finite_differences, check_float32_preserved, check_torch


@pytest.mark.parametrize("case", [c for c in CASES if c.finite_differences], ids=str)
def test_finite_differences(case):
    check_finite_differences(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.torch_fn is not None], ids=str)
def test_against_torch(case):
    pytest.importorskip("torch")
    check_torch(case)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_float32_stays_float32(case):
    check_float32_preserved(case)
