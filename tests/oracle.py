"""Oracles that every op is checked against.

- ``finite_difference_grads``: 5-point central differences in float64, with the
  step scaled to max(1, |x|), of ⟨G, f(x)⟩ for a random (never all-ones) G.
- ``torch_grads``: PyTorch autograd on the same float64 inputs and the same G.

An :class:`OpCase` names a registered op, how to call it in chainrule and in
PyTorch, and its inputs; ``check_case`` runs both oracles on it in one line.
"""
from __future__ import annotations

import dataclasses
import sys
from typing import Callable

import numpy as np

import chainrule as cr


@dataclasses.dataclass
class OpCase:
    op: str                                  # the registry name it verifies
    fn: Callable                             # (*Tensors) -> Tensor, in chainrule
    torch_fn: Callable | None                # (*torch tensors) -> torch tensor, or None
    inputs: tuple                            # arrays; floating ones get gradients
    id: str = ""
    rtol: float = 1e-6
    atol: float = 1e-8
    forward_rtol: float = 1e-10  # vs torch; float32 steps inside a case (integer inputs) round differently
    source: str = ""                         # the case file that declared it (cases.<ops module>)

    def __str__(self):
        return self.id or self.op


CASES: list[OpCase] = []
"""Every verification case; filled by the ``tests/cases_*.py`` modules (see op_cases.py)."""


def case(op, fn, torch_fn, *inputs, id="", **tolerances) -> None:
    """Register a verification case for the op named ``op``."""
    source = sys._getframe(1).f_globals["__name__"]
    CASES.append(OpCase(op, fn, torch_fn, tuple(inputs), id=id or op, source=source, **tolerances))


rng = np.random.default_rng(2024)


def randn(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    """Values with |x| ≥ 0.1, so finite differences never straddle a kink at 0."""
    x = rng.uniform(0.1, 2.0, shape)
    return x * rng.choice([-1.0, 1.0], shape)


def distinct(*shape):
    """Values with no ties, 0.1 apart: far beyond the finite-difference step."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)


def torch():
    """PyTorch, imported only when a reference check runs."""
    import torch as t

    return t


def make_inputs(case: OpCase, dtype=np.float64):
    """Fresh Tensors for a case: floating arrays become leaves requiring grad."""
    tensors = []
    for a in case.inputs:
        a = np.asarray(a)
        if a.dtype.kind == "f":
            tensors.append(cr.Tensor(a.astype(dtype), requires_grad=True))
        else:
            tensors.append(cr.Tensor(a))
    return tensors


def upstream_gradient(shape, seed: int = 0, dtype=np.float64):
    """A random upstream gradient G; never all ones, so reductions and softmax bugs show."""
    return np.random.default_rng(seed + 12345).standard_normal(shape).astype(dtype)


def analytic_grads(case: OpCase, seed: int = 0):
    tensors = make_inputs(case)
    out = case.fn(*tensors)
    G = upstream_gradient(out.shape, seed)
    out.backward(G)
    return out.data, G, [t.grad if t.requires_grad else None for t in tensors]


def finite_difference_grads(case: OpCase, G):
    """d⟨G, f(x)⟩/dx for every floating input, by the 5-point stencil."""
    base = [np.asarray(a).astype(np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
            for a in case.inputs]

    def objective(arrays):
        with cr.no_grad():
            out = case.fn(*[cr.Tensor(a) for a in arrays])
        return float(np.sum(out.data * G))

    grads = []
    for i, a in enumerate(base):
        if a.dtype.kind != "f":
            grads.append(None)
            continue
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            h = 1e-3 * max(1.0, abs(a[idx]))
            values = []
            for k in (-2, -1, 1, 2):
                shifted = [b.copy() for b in base]
                shifted[i][idx] += k * h
                values.append(objective(shifted))
            g[idx] = (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * h)
        grads.append(g)
    return grads


def torch_grads(case: OpCase, G):
    import torch

    tensors = []
    for a in case.inputs:
        a = np.asarray(a)
        t = torch.tensor(a.astype(np.float64) if a.dtype.kind == "f" else a)
        if a.dtype.kind == "f":
            t.requires_grad_(True)
        tensors.append(t)
    out = case.torch_fn(*tensors)
    out.backward(torch.tensor(G))
    return out.detach().numpy(), [t.grad.numpy() if t.requires_grad and t.grad is not None else
                                  (np.zeros(t.shape) if t.requires_grad else None) for t in tensors]


def assert_grads_close(actual, expected, case: OpCase, oracle: str):
    for i, (a, e) in enumerate(zip(actual, expected)):
        if e is None:
            continue
        assert a is not None, f"{case}: input {i} got no gradient ({oracle})"
        assert a.shape == e.shape, f"{case}: input {i} gradient shape {a.shape} != {e.shape} ({oracle})"
        np.testing.assert_allclose(a, e, rtol=case.rtol, atol=case.atol,
                                   err_msg=f"{case}: gradient of input {i} vs {oracle}")


def check_finite_differences(case: OpCase, seed: int = 0):
    _, G, grads = analytic_grads(case, seed)
    assert_grads_close(grads, finite_difference_grads(case, G), case, "finite differences")


def check_torch(case: OpCase, seed: int = 0):
    out, G, grads = analytic_grads(case, seed)
    ref_out, ref_grads = torch_grads(case, G)
    np.testing.assert_allclose(out, ref_out, rtol=case.forward_rtol, atol=1e-12, err_msg=f"{case}: forward vs torch")
    assert_grads_close(grads, ref_grads, case, "torch")


def check_float32_preserved(case: OpCase):
    """No silent upcast: float32 inputs give float32 outputs and gradients."""
    tensors = make_inputs(case, dtype=np.float32)
    out = case.fn(*tensors)
    if out.dtype.kind == "f":
        assert out.dtype == np.float32, f"{case}: float32 inputs gave a {out.dtype} output"
    if out.requires_grad:
        out.backward(upstream_gradient(out.shape, dtype=out.dtype))
        for t in tensors:
            if t.requires_grad and t.grad is not None:
                assert t.grad.dtype == np.float32, f"{case}: float32 input got a {t.grad.dtype} gradient"


def torch_functional():
    """``torch.nn.functional``, imported only when a reference check runs."""
    return torch().nn.functional
