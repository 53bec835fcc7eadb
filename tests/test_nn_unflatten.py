"""nn.Unflatten against torch.nn.Unflatten: same output shape and values, gradient routed back."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


@pytest.mark.parametrize("shape, dim, sizes", [((2, 784), 1, (1, 28, 28)), ((3, 12, 5), -2, (3, 4)), ((6,), 0, (2, 3))])
def test_unflatten_matches_torch(shape, dim, sizes):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(shape)
    G = np.random.default_rng(1).standard_normal(torch.nn.Unflatten(dim, sizes)(torch.tensor(x)).shape)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.Unflatten(dim, sizes)(xt).backward(torch.tensor(G))
    xc = cr.tensor(x, requires_grad=True)
    y = nn.Unflatten(dim, sizes)(xc)
    y.backward(G)
    np.testing.assert_array_equal(y.numpy(), torch.nn.Unflatten(dim, sizes)(torch.tensor(x)).numpy())
    np.testing.assert_array_equal(xc.grad, xt.grad.numpy())
    assert repr(nn.Unflatten(dim, sizes)) == repr(torch.nn.Unflatten(dim, sizes))
