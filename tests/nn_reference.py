"""Run a chainrule layer and the equivalent torch.nn layer side by side.

The torch layer receives the chainrule layer's ``state_dict`` (so the weights are
the same, and the chainrule → torch direction of state dicts is exercised on
every call); both run forward and backward with the same input and the same
random upstream gradient, and every output, gradient and buffer is compared.
"""
from __future__ import annotations

import numpy as np

import chainrule as cr

TOLERANCES = {
    np.float64: dict(rtol=1e-9, atol=1e-11),
    np.float32: dict(rtol=2e-4, atol=2e-5),
}


def copy_into_torch(layer, torch_layer):
    import torch

    torch_layer.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})


def torch_dtype(dtype):
    import torch

    return {np.float32: torch.float32, np.float64: torch.float64}[dtype]


def assert_same_as_torch(layer, torch_layer, x, dtype=np.float64, train=True, steps=1, seed=0):
    """Forward, backward and buffers of ``layer`` equal those of ``torch_layer``.

    x: the input array (floating ones are cast to ``dtype`` and get a gradient);
    ``steps`` repeats forward and backward (BatchNorm's running statistics move).
    """
    import torch

    torch_layer.to(torch_dtype(dtype))
    copy_into_torch(layer, torch_layer)
    layer.train(train)
    torch_layer.train(train)
    tol = TOLERANCES[dtype]
    rng = np.random.default_rng(seed)
    x = np.asarray(x)
    floating = x.dtype.kind == "f"
    if floating:
        x = x.astype(dtype)
    for step in range(steps):
        layer.zero_grad()
        torch_layer.zero_grad()
        xc = cr.Tensor(x.copy(), requires_grad=floating)
        xt = torch.tensor(x.copy(), requires_grad=floating)
        yc, yt = layer(xc), torch_layer(xt)
        assert yc.dtype == yt.detach().numpy().dtype, f"step {step}: output dtype {yc.dtype}"
        np.testing.assert_allclose(yc.data, yt.detach().numpy(), **tol, err_msg=f"step {step}: forward")
        G = rng.standard_normal(yc.shape).astype(dtype)
        yc.backward(G)
        yt.backward(torch.from_numpy(G))
        if floating:
            np.testing.assert_allclose(xc.grad, xt.grad.numpy(), **tol, err_msg=f"step {step}: input gradient")
        torch_params = dict(torch_layer.named_parameters())
        for name, p in layer.named_parameters():
            assert p.grad is not None and p.grad.dtype == dtype, f"{name}: gradient {p.grad}"
            np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), **tol,
                                       err_msg=f"step {step}: gradient of {name}")
    torch_state = torch_layer.state_dict()
    for name, value in layer.state_dict().items():
        np.testing.assert_allclose(value, torch_state[name].numpy(), **tol, err_msg=f"state {name}")
