"""The same verification case on a device and on the CPU: the harness that the stand-in
test (every CI run) and scripts/gpu-check (on a GPU) share."""
from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import backend
from oracle import OpCase, upstream_gradient


def run_case(case: OpCase, device: str, order: int = 1) -> tuple:
    """(output, gradients) of ``case`` with its inputs on ``device``, as NumPy arrays; every
    result must live on that device (a leak to NumPy raises before this returns). With
    ``order=2`` the gradients are second order: ∂⟨V, ∂⟨G, f⟩/∂x⟩/∂x through create_graph=True."""
    tensors = []
    for a in case.inputs:
        a = np.asarray(a)
        data = backend.to_device(a, device)
        tensors.append(cr.Tensor(data, requires_grad=a.dtype.kind == "f"))
    out = case.fn(*tensors)
    if out.device != backend.device(device).name:
        raise AssertionError(f"{case}: the output is on {out.device}, not {device}")
    grads = []
    if out.requires_grad and order == 2:
        _second_order_on(device, out, [t for t in tensors if t.requires_grad])
    if out.requires_grad:
        if order == 1:
            out.backward(backend.to_device(upstream_gradient(out.shape), device))
        for t in tensors:
            if t.requires_grad and t.grad is not None:
                if backend.device_of(t.grad) != backend.device(device).name:
                    raise AssertionError(f"{case}: a gradient came back on {backend.device_of(t.grad)}")
            grads.append(None if t.grad is None else backend.to_numpy(t.grad))
    return backend.to_numpy(out.data), grads


def _second_order_on(device: str, out, inputs: list) -> None:
    """Leave ∂⟨V, ∂⟨G, out⟩/∂x⟩/∂x in each input's ``grad``, everything on ``device``."""
    G = backend.to_device(upstream_gradient(out.shape), device)
    grads = cr.autograd.grad(out, inputs, grad_outputs=G, create_graph=True, allow_unused=True)
    total = None
    for i, (g, t) in enumerate(zip(grads, inputs)):
        if g is not None:
            v = cr.Tensor(backend.to_device(np.random.default_rng(777 + i).standard_normal(t.shape), device))
            term = (g * v.astype(g.dtype)).sum()
            total = term if total is None else total + term
    if total is not None and total.requires_grad:
        for t, second in zip(inputs, cr.autograd.grad(total, inputs, allow_unused=True)):
            t.grad = None if second is None else second.data


def compare(case: OpCase, device: str, rtol: float, order: int = 1) -> None:
    """Assert that ``case`` gives the same output and gradients on ``device`` as on the CPU, to
    ``rtol``, or to the case's own ``forward_rtol`` where it is looser: cases on integer inputs
    compute in float32, and a GPU's float32 exp may round the last bit otherwise than NumPy's.
    Values that cancel to about 0 (exp(log_softmax(x)) − softmax(x), erf's tail in float32) are
    compared to 8 ulps of the precision the case computes in, at unit scale or the value's;
    gradients too (that case's gradient is 0 up to rounding)."""
    want_out, want_grads = run_case(case, "cpu", order)
    got_out, got_grads = run_case(case, device, order)
    rtol = max(rtol, case.forward_rtol)
    precision = np.finfo(np.float32 if case.forward_rtol >= 1e-7 else np.float64).eps
    scale = float(np.abs(want_out).max()) if want_out.size and want_out.dtype.kind == "f" else 0.0
    np.testing.assert_allclose(got_out, want_out, rtol=rtol, atol=8 * precision * max(1.0, scale),
                               err_msg=f"{case}: output")
    for i, (got, want) in enumerate(zip(got_grads, want_grads)):
        if want is None:
            assert got is None, f"{case}: input {i} got a gradient on the device only"
            continue
        assert got.dtype == want.dtype, f"{case}: input {i} gradient dtype {got.dtype} vs {want.dtype}"
        atol = 8 * precision * max(1.0, float(np.abs(want).max()) if want.size else 0.0)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"{case}: gradient of input {i}")
