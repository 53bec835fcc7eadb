"""Oracles that every op is checked against.

- ``finite_difference_grads``: 5-point central differences in float64, with the
  step scaled to max(1, |x|), of ⟨G, f(x)⟩ for a random (never all-ones) G.
- ``torch_grads``: PyTorch autograd on the same float64 inputs and the same G.
- Second order: the gradient of ⟨V, ∂⟨G, f⟩/∂x⟩ (a Hessian-vector product for random G
  and V) from ``create_graph=True``, against finite differences of the first-order
  gradient and against torch with ``create_graph=True`` (``check_second_order_*``).

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
    torch_second_order: bool = True          # False where torch itself cannot differentiate twice (say why)
    finite_differences: bool = True          # False where the gradient is a convention, not a derivative (say why)

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


def _float64_inputs(case: OpCase) -> list:
    return [np.asarray(a).astype(np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in case.inputs]


def five_point_gradients(objective, base: list) -> list:
    """d objective / d(each floating array of ``base``) by the 5-point stencil, the step scaled to
    max(1, |x|); None for the others. ``objective`` maps a list of arrays to a number."""
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


def finite_difference_grads(case: OpCase, G):
    """d⟨G, f(x)⟩/dx for every floating input, by the 5-point stencil."""
    def objective(arrays):
        with cr.no_grad():
            out = case.fn(*[cr.Tensor(a) for a in arrays])
        return float(np.sum(out.data * G))

    return five_point_gradients(objective, _float64_inputs(case))


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


def _differentiable(tensors):
    return [t for t in tensors if t.requires_grad]


def _directions(tensors, seed: int):
    """V: one random direction per differentiable input."""
    return [np.random.default_rng(seed + 777 + i).standard_normal(t.shape) for i, t in enumerate(tensors)]


def second_order_grads(case: OpCase, seed: int = 0, order: int = 2):
    """∂⟨V, ∂⟨G, f⟩/∂x⟩/∂x through create_graph=True (order 3 differentiates ⟨V, that⟩ once more),
    one array per differentiable input; also G and V."""
    tensors = make_inputs(case)
    inputs = _differentiable(tensors)
    out = case.fn(*tensors)
    G = upstream_gradient(out.shape, seed)
    V = _directions(inputs, seed)
    scalar = out
    grad_outputs = G
    for _ in range(order - 1):
        grads = cr.autograd.grad(scalar, inputs, grad_outputs=grad_outputs, create_graph=True, allow_unused=True)
        scalar = _inner(grads, V)
        grad_outputs = None
        if not scalar.requires_grad:  # the gradient does not depend on x: the next derivative is 0
            return G, V, [np.zeros(t.shape) for t in inputs]
    grads = cr.autograd.grad(scalar, inputs, allow_unused=True)
    return G, V, [np.zeros(t.shape) if g is None else g.numpy() for g, t in zip(grads, inputs)]


def _inner(grads, V):
    """⟨V, grads⟩ as a Tensor (a constant 0 when no gradient carries a graph)."""
    total = cr.tensor(0.0, dtype=np.float64)
    for g, v in zip(grads, V):
        if g is not None:
            total = total + (g * cr.tensor(v)).sum()
    return total


def finite_difference_second_order(case: OpCase, G, V):
    """∂⟨V, ∂⟨G, f⟩/∂x⟩/∂x by the 5-point stencil over first-order gradients (the fast path)."""
    def objective(arrays):
        tensors = [cr.Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        inputs = _differentiable(tensors)
        grads = cr.autograd.grad(case.fn(*tensors), inputs, grad_outputs=G, allow_unused=True)
        return sum(float(np.sum(g.numpy() * v)) for g, v in zip(grads, V) if g is not None)

    return [g for g in five_point_gradients(objective, _float64_inputs(case)) if g is not None]


def torch_second_order(case: OpCase, G, V, order: int = 2):
    import torch

    tensors = []
    for a in case.inputs:
        a = np.asarray(a)
        t = torch.tensor(a.astype(np.float64) if a.dtype.kind == "f" else a)
        tensors.append(t.requires_grad_(True) if a.dtype.kind == "f" else t)
    inputs = [t for t in tensors if t.requires_grad]
    scalar, grad_outputs = case.torch_fn(*tensors), torch.tensor(G)
    for _ in range(order - 1):
        grads = torch.autograd.grad(scalar, inputs, grad_outputs=grad_outputs, create_graph=True, allow_unused=True)
        scalar = sum(((g * torch.tensor(v)).sum() for g, v in zip(grads, V) if g is not None),
                     torch.tensor(0.0, dtype=torch.float64))
        grad_outputs = None
        if not scalar.requires_grad:
            return [np.zeros(t.shape) for t in inputs]
    grads = torch.autograd.grad(scalar, inputs, allow_unused=True)
    # force=True: torch returns a ZeroTensor for a derivative it knows is 0 (abs's second)
    return [np.zeros(t.shape) if g is None else g.detach().numpy(force=True) for g, t in zip(grads, inputs)]


def check_third_order_finite_differences(case: OpCase, seed: int = 0):
    """Third order: the gradient of ⟨V, H·V⟩ (through create_graph twice) against central
    differences of the second-order gradient ⟨V, H·V⟩ (:func:`second_order_grads`)."""
    G, V, ours = second_order_grads(case, seed, order=3)

    def objective(arrays):
        _, _, second = second_order_grads(dataclasses.replace(case, inputs=tuple(arrays)), seed)
        return sum(float(np.sum(s * v)) for s, v in zip(second, V))

    expected = [g for g in five_point_gradients(objective, _float64_inputs(case)) if g is not None]
    assert_grads_close(ours, expected, dataclasses.replace(case, rtol=1e-5, atol=1e-7), "finite differences, 3rd order")


def check_second_order_finite_differences(case: OpCase, seed: int = 0):
    G, V, second = second_order_grads(case, seed)
    assert_grads_close(second, finite_difference_second_order(case, G, V), case, "finite differences, 2nd order")


def check_second_order_torch(case: OpCase, seed: int = 0, order: int = 2):
    G, V, ours = second_order_grads(case, seed, order)
    assert_grads_close(ours, torch_second_order(case, G, V, order), case, f"torch, order {order}")


def torch_gradient_of(forward, shape: tuple, dtype=None):
    """(dy, *others) → the gradient torch's ``forward(x, *others)`` sends to an x of ``shape``,
    with create_graph=True: the torch reference for an op that *is* a gradient (getitem_backward,
    conv2d_input_grad, ...), differentiable again. The gradient must not depend on x's value."""

    def gradient(dy, *others):
        x = torch().zeros(shape, dtype=dy.dtype, requires_grad=True)
        return torch().autograd.grad(forward(x, *others), x, dy, create_graph=True)[0]

    return gradient


def torch_functional():
    """``torch.nn.functional``, imported only when a reference check runs."""
    return torch().nn.functional
