"""nn.Fused: one graph node for a model and its loss, the same bits as calling them.

The oracle is the eager computation itself (every op in it is checked against finite
differences and PyTorch in test_ops.py), compared with assert_array_equal: fusing
changes the bookkeeping, never a rounding. One test also checks against torch directly.
"""
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, ops, optim
from chainrule.errors import ShapeError
from chainrule.tensor import observe

rng = np.random.default_rng(7)


def _mlp(dtype, *middle):
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(12, 9), *middle, nn.Sequential(nn.Linear(9, 6), nn.Tanh()), nn.Linear(6, 4)).to(dtype)


MIDDLES = {
    "relu": lambda: (nn.ReLU(),),
    "leaky_relu": lambda: (nn.LeakyReLU(0.2),),
    "sigmoid": lambda: (nn.Sigmoid(),),
    "gelu": lambda: (nn.GELU(),),
    "gelu_tanh": lambda: (nn.GELU("tanh"),),
    "relu_dropout": lambda: (nn.ReLU(), nn.Dropout(0.4)),
    "batchnorm_relu": lambda: (nn.BatchNorm1d(9), nn.ReLU()),
    "layernorm_softplus": lambda: (nn.LayerNorm(9), nn.LeakyReLU(0.1)),
}
LOSSES = {
    "ce_mean": lambda: nn.CrossEntropyLoss(),
    "ce_sum_smoothing": lambda: nn.CrossEntropyLoss(reduction="sum", label_smoothing=0.1),
    "ce_none": lambda: nn.CrossEntropyLoss(reduction="none"),
    "mse": lambda: nn.MSELoss(),
}


def _batch(dtype, loss_name):
    x = cr.Tensor(rng.standard_normal((5, 12)).astype(dtype))
    if loss_name == "mse":
        return x, cr.Tensor(rng.standard_normal((5, 4)).astype(dtype))
    return x, cr.Tensor(rng.integers(0, 4, 5))


def _run(model, loss_fn, x, y, fused: bool, steps: int = 3):
    """Losses and parameters after a few SGD steps, and the last gradients (an unreduced
    loss gets random upstream gradients, the same ones on both paths)."""
    upstream = np.random.default_rng(11)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = nn.Fused(model, loss_fn) if fused else (lambda a, b: loss_fn(model(a), b))
    cr.manual_seed(1)  # dropout masks: both paths draw the same ones, in the same order
    losses = []
    for _ in range(steps):
        loss = step(x, y)
        optimizer.zero_grad()
        loss.backward(upstream.standard_normal(loss.shape).astype(loss.dtype) if loss.ndim else None)
        optimizer.step()
        losses.append(loss.data)
    return losses, [p.data.copy() for p in model.parameters()], [p.grad for p in model.parameters()]


def _assert_same(eager, fused):
    for got_list, want_list in zip(fused, eager):
        assert len(got_list) == len(want_list)
        for got, want in zip(got_list, want_list):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("middle", sorted(MIDDLES))
@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_fused_training_equals_eager_bit_for_bit(dtype, middle, loss_name):
    x, y = _batch(dtype, loss_name)
    eager = _run(_mlp(dtype, *MIDDLES[middle]()), LOSSES[loss_name](), x, y, fused=False)
    fused = _run(_mlp(dtype, *MIDDLES[middle]()), LOSSES[loss_name](), x, y, fused=True)
    _assert_same(eager, fused)


def test_the_step_is_one_chain_node_naming_its_ops():
    model, loss_fn = _mlp(np.float32, nn.ReLU()), nn.CrossEntropyLoss()
    x, y = _batch(np.float32, "ce_mean")
    loss = nn.Fused(model, loss_fn)(x, y)
    assert isinstance(loss.creator, ops.Chain)
    assert loss.creator.name == "Chain(Linear → ReLU → Linear → Tanh → Linear → SoftmaxCrossEntropy)"
    assert all(t.creator is None for t in loss.creator.inputs)  # x, the parameters and the labels


def test_model_alone_and_float64_gradients_against_torch():
    torch = pytest.importorskip("torch")
    model = _mlp(np.float64, nn.ReLU())
    x = rng.standard_normal((5, 12))
    out = nn.Fused(model)(cr.Tensor(x, requires_grad=True))
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)

    tensors = [torch.tensor(p.data, requires_grad=True) for p in model.parameters()]
    tx = torch.tensor(x, requires_grad=True)
    h = torch.relu(torch.nn.functional.linear(tx, tensors[0], tensors[1]))
    h = torch.tanh(torch.nn.functional.linear(h, tensors[2], tensors[3]))
    expected = torch.nn.functional.linear(h, tensors[4], tensors[5])
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    for p, t in zip(model.parameters(), tensors):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_input_gradient_and_no_grad_and_eval():
    model = _mlp(np.float64, nn.ReLU(), nn.Dropout(0.5))
    x = rng.standard_normal((5, 12))
    upstream = rng.standard_normal((5, 4))
    grads = []
    for fused in (False, True):
        tx = cr.Tensor(x, requires_grad=True)
        cr.manual_seed(2)
        (nn.Fused(model) if fused else model)(tx).backward(upstream)
        grads.append(tx.grad)
    np.testing.assert_array_equal(grads[1], grads[0])

    model.eval()  # dropout is the identity, and the step still fuses
    out = nn.Fused(model)(cr.Tensor(x))
    np.testing.assert_array_equal(out.data, model(cr.Tensor(x)).data)
    with cr.no_grad():
        out = nn.Fused(model)(cr.Tensor(x, requires_grad=True))
    assert out.creator is None and not out.requires_grad


def test_shared_layer_sums_both_uses():
    cr.manual_seed(0)
    shared = nn.Linear(5, 5).to(np.float64)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    x = cr.Tensor(rng.standard_normal((3, 5)))
    upstream = rng.standard_normal((3, 5))
    grads = []
    for fused in (False, True):
        shared.weight.grad = shared.bias.grad = None
        (nn.Fused(model) if fused else model)(x).backward(upstream)
        grads.append((shared.weight.grad, shared.bias.grad))
    np.testing.assert_array_equal(grads[1][0], grads[0][0])
    np.testing.assert_array_equal(grads[1][1], grads[0][1])


def test_retain_graph_backward_twice_doubles_the_gradients():
    model, loss_fn = _mlp(np.float64, nn.ReLU()), nn.CrossEntropyLoss()
    x, y = _batch(np.float64, "ce_mean")
    loss = nn.Fused(model, loss_fn)(x, y)
    loss.backward(retain_graph=True)
    once = [p.grad.copy() for p in model.parameters()]
    loss.backward()
    for p, g in zip(model.parameters(), once):
        np.testing.assert_array_equal(p.grad, g + g)
    with pytest.raises(RuntimeError, match="a second time"):
        loss.backward()


class _Doubled(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2.0


class _Custom(nn.Module):
    def forward(self, x):
        return x * 3.0


@pytest.mark.parametrize("odd_one", [
    lambda: _Doubled(9, 9),  # overrides forward only: its forward must run
    lambda: _Custom(),
])
def test_a_layer_that_cannot_be_fused_runs_everything_one_by_one(odd_one):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 9), odd_one(), nn.ReLU(), nn.Linear(9, 4)).to(np.float64)
    loss_fn = nn.CrossEntropyLoss()
    x, y = _batch(np.float64, "ce_mean")
    eager = _run(model, loss_fn, x, y, fused=False, steps=1)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 9), odd_one(), nn.ReLU(), nn.Linear(9, 4)).to(np.float64)
    loss = nn.Fused(model, loss_fn)(x, y)
    assert not isinstance(loss.creator, ops.Chain)
    _assert_same(eager, _run(model, loss_fn, x, y, fused=True, steps=1))


def _readme_mlp():
    cr.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4)).to(np.float64)


def _small_cnn():
    cr.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Dropout2d(0.2), nn.AvgPool2d(1), nn.Flatten(), nn.Linear(12, 4), nn.Softmax(-1),
                         nn.Unflatten(1, (2, 2)), nn.Flatten()).to(np.float64)


@pytest.mark.parametrize("build", [_readme_mlp, _small_cnn])
def test_every_layer_of_nn_fuses_into_one_node_with_the_same_bits(build):
    x = cr.Tensor(rng.standard_normal((5, 1, 4, 4)))
    y = cr.Tensor(rng.integers(0, 4, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = nn.Fused(build(), nn.CrossEntropyLoss())(x, y)
    assert isinstance(loss.creator, ops.Chain)
    eager_model, fused_model = build(), build()
    _assert_same(_run(eager_model, nn.CrossEntropyLoss(), x, y, fused=False),
                 _run(fused_model, nn.CrossEntropyLoss(), x, y, fused=True))
    for (name, want), got in zip(eager_model.state_dict().items(), fused_model.state_dict().values()):
        np.testing.assert_array_equal(got.data, want.data, err_msg=name)  # running statistics too


def test_a_module_with_its_own_forward_is_named_in_one_warning():
    fused = nn.Fused(nn.Sequential(nn.Linear(12, 9), _Custom(), nn.Linear(9, 4)).to(np.float64))
    x = cr.Tensor(rng.standard_normal((5, 12)))
    with pytest.warns(UserWarning, match=r"nn.Fused: _Custom defines its own forward\(\), so the call runs"):
        fused(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fused(x)


def test_a_target_that_is_not_a_tensor_runs_one_by_one():
    model = _mlp(np.float64, nn.ReLU())
    x = cr.Tensor(rng.standard_normal((5, 12)))
    target = rng.standard_normal((5, 4))
    loss = nn.Fused(model, nn.MSELoss())(x, target)
    assert not isinstance(loss.creator, ops.Chain)
    np.testing.assert_array_equal(loss.data, nn.MSELoss()(model(x), target).data)


def test_an_observer_sees_every_op():
    model, loss_fn = _mlp(np.float32, nn.ReLU()), nn.CrossEntropyLoss()
    x, y = _batch(np.float32, "ce_mean")

    class Names:
        seen = []

        def on_forward(self, fn, inputs, output, seconds):
            self.seen.append(fn.name)

    with observe(Names()) as names:
        loss = nn.Fused(model, loss_fn)(x, y)
    assert names.seen == ["Linear", "ReLU", "Linear", "Tanh", "Linear", "SoftmaxCrossEntropy"]
    np.testing.assert_array_equal(loss.data, loss_fn(model(x), y).data)


def test_layers_added_after_the_first_call_are_used():
    model = nn.Sequential(nn.Linear(12, 4)).to(np.float64)
    fused = nn.Fused(model)
    x = cr.Tensor(rng.standard_normal((5, 12)))
    fused(x)
    model.append(nn.Tanh())
    out = fused(x)
    assert out.creator.name == "Chain(Linear → Tanh)"
    np.testing.assert_array_equal(out.data, model(x).data)
    setattr(model, "1", nn.Sigmoid())  # replaced in place
    assert fused(x).creator.name == "Chain(Linear → Sigmoid)"


def test_bad_input_gets_the_layers_own_error():
    model, loss_fn = _mlp(np.float32, nn.ReLU()), nn.CrossEntropyLoss()
    x = cr.Tensor(rng.standard_normal((5, 11)).astype(np.float32))
    y = cr.Tensor(rng.integers(0, 4, 5))
    with pytest.raises(ShapeError) as eager:
        loss_fn(model(x), y)
    with pytest.raises(ShapeError) as fused:
        nn.Fused(model, loss_fn)(x, y)
    assert str(fused.value) == str(eager.value)
    assert "Linear(12 → 9)" in str(fused.value)
    with pytest.raises(ValueError, match="class label 7 at position 0"):
        nn.Fused(model, loss_fn)(cr.Tensor(np.zeros((2, 12), np.float32)), cr.Tensor(np.array([7, 1])))
    with pytest.raises(TypeError, match=r"expected to be called as \(x, target\)"):
        nn.Fused(model, loss_fn)(x)
    with pytest.raises(TypeError, match=r"expected to be called as \(x\)"):
        nn.Fused(model)(x, y)


def test_chain_by_hand_and_its_input_count():
    chain = ops.Chain([(ops.Linear(), 2), (ops.ReLU(), 0)])
    x, W, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.standard_normal(2)
    y = chain.forward(x, W, b)
    np.testing.assert_array_equal(y, np.maximum(x @ W.T + b, 0))
    dy = rng.standard_normal((3, 2))
    dx, dW, db = chain.backward(dy)
    mask = (y > 0) * dy
    np.testing.assert_allclose(dx, mask @ W, rtol=1e-12)
    np.testing.assert_allclose(dW, mask.T @ x, rtol=1e-12)
    np.testing.assert_allclose(db, mask.sum(axis=0), rtol=1e-12)
    with pytest.raises(TypeError, match=r"Chain\(Linear → ReLU\): expected x and 2 extra inputs, got 1"):
        ops.Chain([(ops.Linear(), 2), (ops.ReLU(), 0)])(cr.Tensor(x), cr.Tensor(W))


def test_parameters_and_state_dict_are_the_models():
    model, loss_fn = _mlp(np.float32, nn.ReLU()), nn.CrossEntropyLoss()
    fused = nn.Fused(model, loss_fn)
    assert [id(p) for p in fused.parameters()] == [id(p) for p in model.parameters()]
    assert list(fused.state_dict()) == [f"model.{name}" for name in model.state_dict()]
