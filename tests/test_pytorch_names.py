"""PyTorch's spellings of the reductions and softmax (dim=, keepdim=, amax/amin), against torch."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
DATA = np.random.default_rng(0).standard_normal((2, 3, 4))


@pytest.mark.parametrize("name", ["sum", "mean", "logsumexp", "amax", "amin", "var"])
@pytest.mark.parametrize("dim, keepdim", [(1, False), ((0, 2), True), (-1, True)])
def test_reductions_take_dim_and_keepdim(name, dim, keepdim):
    x, t = cr.tensor(DATA, requires_grad=True), torch.tensor(DATA, requires_grad=True)
    ours = getattr(x, name)(dim=dim, keepdim=keepdim) if name not in ("amax", "amin") else getattr(cr, name)(x, dim, keepdim)
    theirs = getattr(t, name)(dim=dim, keepdim=keepdim)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
    weights = np.random.default_rng(1).standard_normal(theirs.shape)
    (ours * weights).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_takes_dim(name):
    x = cr.tensor(DATA)
    np.testing.assert_allclose(getattr(x, name)(dim=1).numpy(), getattr(torch.tensor(DATA), name)(dim=1).numpy(),
                               rtol=1e-12)


def test_both_spellings_at_once_and_max_with_dim_are_clear_errors():
    x = cr.tensor(DATA)
    with pytest.raises(TypeError, match="sum: give dim .PyTorch's name. or axis .NumPy's., not both"):
        x.sum(axis=0, dim=1)
    with pytest.raises(TypeError, match=r"max: PyTorch's max\(dim=...\) returns \(values, indices\)"):
        x.max(dim=1)
