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


def test_shape_names_match_torch():
    x, t = cr.tensor(DATA, requires_grad=True), torch.tensor(DATA, requires_grad=True)
    pairs = [
        (lambda a: a.unsqueeze(1), lambda a: a.unsqueeze(1)),
        (lambda a: a.unsqueeze(-1).squeeze(-1), lambda a: a.unsqueeze(-1).squeeze(-1)),
        (lambda a: a[:, :1].squeeze(), lambda a: a[:, :1].squeeze()),
        (lambda a: a.squeeze(0), lambda a: a.squeeze(0)),  # size 2: stays
        (lambda a: a[0].t(), lambda a: a[0].t()),
        (lambda a: cr.cat([a, a * 2.0], dim=2), lambda a: torch.cat([a, a * 2.0], dim=2)),
        (lambda a: cr.stack([a, a], dim=1), lambda a: torch.stack([a, a], dim=1)),
    ]
    weights = np.random.default_rng(2)
    for ours, theirs in pairs:
        x.grad, t.grad = None, None
        y, u = ours(x), theirs(t)
        assert y.shape == tuple(u.shape)
        np.testing.assert_array_equal(y.numpy(), u.detach().numpy())
        w = weights.standard_normal(y.shape)
        (y * w).sum().backward()
        (u * torch.tensor(w)).sum().backward()
        np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_like_creators_keep_shape_and_dtype():
    x = cr.tensor(DATA.astype(np.float32))
    for made, value in [(cr.zeros_like(x), 0.0), (cr.ones_like(x), 1.0), (cr.full_like(x, 2.5), 2.5)]:
        assert made.shape == x.shape and made.dtype == np.float32
        np.testing.assert_array_equal(made.numpy(), np.full(DATA.shape, value, np.float32))
    cr.manual_seed(3)
    a = cr.randn_like(x)
    cr.manual_seed(3)
    np.testing.assert_array_equal(a.numpy(), cr.randn(*DATA.shape).numpy())
    assert cr.rand_like(x, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    grads = [np.random.default_rng(i).standard_normal(shape) for i, shape in enumerate([(3, 4), (4,), (2, 2, 2)])]
    ours = [cr.tensor(np.zeros(g.shape), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = g.copy(), torch.tensor(g)
    total = cr.nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_matches_torch():
    g = np.random.default_rng(0).standard_normal((5, 3)) * 3
    p, q = cr.tensor(np.zeros(g.shape), requires_grad=True), torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
    p.grad, q.grad = g.copy(), torch.tensor(g)
    cr.nn.utils.clip_grad_value_([p], 1.5)
    torch.nn.utils.clip_grad_value_([q], 1.5)
    np.testing.assert_array_equal(p.grad, q.grad.numpy())


def test_module_list_double_and_float():
    layers = cr.nn.ModuleList([cr.nn.Linear(3, 4), cr.nn.ReLU()])
    layers.append(cr.nn.Linear(4, 2))
    assert len(layers) == 3 and [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    torch_layers = torch.nn.ModuleList([torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)])
    assert list(layers.state_dict()) == list(torch_layers.state_dict())
    assert isinstance(layers[1:], cr.nn.ModuleList) and len(layers[1:]) == 2
    assert all(p.dtype == np.float64 for p in layers.double().parameters())
    assert all(p.dtype == np.float32 for p in layers.float().parameters())
