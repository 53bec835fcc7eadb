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


def test_both_spellings_at_once_are_a_clear_error():
    x = cr.tensor(DATA)
    with pytest.raises(TypeError, match="sum: give dim .PyTorch's name. or axis .NumPy's., not both"):
        x.sum(axis=0, dim=1)
    with pytest.raises(TypeError, match=r"max: keepdim needs dim"):
        x.max(keepdim=True)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim, keepdim", [(1, False), (-1, True), (0, False)])
def test_max_and_min_with_dim_give_values_and_indices_as_torch(name, dim, keepdim):
    data = np.round(DATA * 2) / 2  # ties: the gradient must go to the index torch picks, not be shared
    x, t = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours, theirs = getattr(x, name)(dim=dim, keepdim=keepdim), getattr(t, name)(dim=dim, keepdim=keepdim)
    values, indices = ours
    np.testing.assert_array_equal(values.numpy(), theirs.values.detach().numpy())
    np.testing.assert_array_equal(indices.numpy(), theirs.indices.numpy())
    assert ours.indices.dtype == np.int64
    weights = np.random.default_rng(6).standard_normal(values.shape)
    (values * weights).sum().backward()
    (theirs.values * torch.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


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


def test_argmax_argmin_and_casts_match_torch():
    x, t = cr.tensor(DATA), torch.tensor(DATA)
    for dim, keepdim in [(None, False), (1, False), (-1, True), (None, True)]:
        for name in ("argmax", "argmin"):
            ours = getattr(x, name)(dim=dim, keepdim=keepdim)
            theirs = getattr(t, name)(dim=dim, keepdim=keepdim)
            assert ours.dtype == np.int64
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert x.float().dtype == np.float32 and x.float().double().dtype == np.float64
    assert x.long().dtype == np.int64 and not x.long().requires_grad
    y = cr.tensor(DATA, requires_grad=True)
    y.float().sum().backward()
    assert y.grad.dtype == np.float64  # the cast is on the graph; its gradient comes back in float64


def test_creation_names_match_torch():
    np.testing.assert_array_equal(cr.eye(3, 4).numpy(), torch.eye(3, 4).numpy())
    np.testing.assert_allclose(cr.linspace(-1, 2, 7).numpy(), torch.linspace(-1, 2, 7).numpy(), rtol=1e-6)
    array = np.arange(4.0)
    shared = cr.from_numpy(array)
    array[0] = 9.0
    assert shared.numpy()[0] == 9.0  # the same memory, as torch.from_numpy
    assert cr.empty(2, 3).shape == (2, 3)
    cr.manual_seed(0)
    ints = cr.randint(3, 7, (50,))
    assert ints.dtype == np.int64 and ints.numpy().min() >= 3 and ints.numpy().max() < 7
    assert sorted(cr.randperm(6).numpy().tolist()) == list(range(6))


def test_nn_functional_matches_torch():
    import chainrule.nn.functional as F
    import torch.nn.functional as TF

    logits = np.random.default_rng(4).standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    x, t = cr.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    pairs = [
        (lambda a: F.cross_entropy(a, labels, label_smoothing=0.1), lambda a: TF.cross_entropy(a, torch.tensor(labels), label_smoothing=0.1)),
        (lambda a: F.nll_loss(F.log_softmax(a, dim=1), labels), lambda a: TF.nll_loss(TF.log_softmax(a, dim=1), torch.tensor(labels))),
        (lambda a: F.mse_loss(F.softmax(a, dim=0), cr.tensor(np.ones((5, 4)))), lambda a: TF.mse_loss(TF.softmax(a, dim=0), torch.ones(5, 4, dtype=torch.float64))),
        (lambda a: F.relu(a).sum() + F.gelu(a).sum() + F.leaky_relu(a, 0.2).sum(), lambda a: TF.relu(a).sum() + TF.gelu(a).sum() + TF.leaky_relu(a, 0.2).sum()),
    ]
    for ours, theirs in pairs:
        x.grad, t.grad = None, None
        y, u = ours(x), theirs(t)
        np.testing.assert_allclose(y.item(), u.item(), rtol=1e-12)
        y.backward()
        u.backward()
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10)
    np.testing.assert_array_equal(F.one_hot(cr.tensor(labels)).numpy(), TF.one_hot(torch.tensor(labels)).numpy())
    with pytest.raises(TypeError, match=r"F.binary_cross_entropy: weight=.* is not supported by chainrule yet"):
        F.binary_cross_entropy(cr.tensor([0.5]), cr.tensor([1.0]), weight=cr.tensor([2.0]))


@pytest.mark.parametrize("ours, theirs", [
    (lambda: cr.nn.SiLU(), lambda: torch.nn.SiLU()),
    (lambda: cr.nn.ELU(0.5), lambda: torch.nn.ELU(0.5)),
    (lambda: cr.nn.Softplus(2.0, 3.0), lambda: torch.nn.Softplus(2.0, 3.0)),
    (lambda: cr.nn.Identity(), lambda: torch.nn.Identity()),
    (lambda: cr.nn.Mish(), lambda: torch.nn.Mish()),
    (lambda: cr.nn.Hardswish(), lambda: torch.nn.Hardswish()),
    (lambda: cr.nn.Hardtanh(-2.0, 1.5), lambda: torch.nn.Hardtanh(-2.0, 1.5)),
])
def test_activation_layers_match_torch_eager_and_fused(ours, theirs):
    data = np.random.default_rng(5).standard_normal((4, 6)) * 3
    t = torch.tensor(data, requires_grad=True)
    expected = theirs()(t)
    (expected * expected).sum().backward()
    for fused in (False, True):
        model = cr.nn.Sequential(ours(), cr.nn.Identity())
        x = cr.tensor(data, requires_grad=True)
        y = cr.nn.Fused(model)(x) if fused else model(x)
        np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), rtol=1e-12)
        (y * y).sum().backward()
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)
