"""nn.LSTM and nn.LSTMCell against torch's, loading torch's state_dict: outputs, final states and
every gradient, in float64 and float32, over layers, directions, batch_first and given states."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
TOL = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=2e-4, atol=2e-5)}


def _same_weights(ours, theirs, dtype):
    theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    ours.load_state_dict({k: v.detach().numpy().astype(dtype) for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("options, with_state", [
    (dict(), False), (dict(num_layers=2), True), (dict(bidirectional=True), False),
    (dict(num_layers=2, bidirectional=True, batch_first=True), True), (dict(bias=False), False),
], ids=str)
def test_lstm_matches_torch(options, with_state, dtype):
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 4, **options)
    ours = nn.LSTM(3, 4, dtype=dtype, **options)
    _same_weights(ours, theirs, dtype)
    rng = np.random.default_rng(1)
    shape = (2, 5, 3) if options.get("batch_first") else (5, 2, 3)
    data = rng.standard_normal(shape).astype(dtype)
    layers = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    states = [rng.standard_normal((layers, 2, 4)).astype(dtype) for _ in range(2)] if with_state else None
    x, xt = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, (h, c) = ours(x, None if states is None else tuple(cr.tensor(s) for s in states))
    tout, (th, tc) = theirs(xt, None if states is None else tuple(torch.tensor(s) for s in states))
    for a, b in ((out, tout), (h, th), (c, tc)):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL[dtype])
    weights = [rng.standard_normal(t.shape).astype(dtype) for t in (tout, th, tc)]
    ((out * weights[0]).sum() + (h * weights[1]).sum() + (c * weights[2]).sum()).backward()
    ((tout * torch.tensor(weights[0])).sum() + (th * torch.tensor(weights[1])).sum()
     + (tc * torch.tensor(weights[2])).sum()).backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), **TOL[dtype])
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), **TOL[dtype], err_msg=name)


def test_lstm_cell_matches_torch_step_by_step():
    torch.manual_seed(0)
    theirs, ours = torch.nn.LSTMCell(3, 2).double(), nn.LSTMCell(3, 2, dtype=np.float64)
    _same_weights(ours, theirs, np.float64)
    data = np.random.default_rng(2).standard_normal((4, 5, 3))
    state, tstate = None, None
    for x in data:
        state = ours(cr.tensor(x), state)
        tstate = theirs(torch.tensor(x), tstate)
    np.testing.assert_allclose(state[0].numpy(), tstate[0].detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(state[1].numpy(), tstate[1].detach().numpy(), rtol=1e-10)


def test_lstm_dropout_between_layers_only_in_training_and_a_clear_shape_error():
    model = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = cr.randn(6, 2, 3)
    model.eval()
    first, second = model(x)[0].numpy(), model(x)[0].numpy()
    np.testing.assert_array_equal(first, second)
    model.train()
    assert not np.array_equal(model(x)[0].numpy(), first)
    with pytest.raises(cr.ShapeError, match=r"LSTM\(3, 4\): expected input \(T, N, input_size\)"):
        model(cr.randn(6, 2, 5))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind, options, with_state", [
    ("GRU", dict(), False), ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True), True),
    ("RNN", dict(), True), ("RNN", dict(nonlinearity="relu", num_layers=2), False),
    ("RNN", dict(bidirectional=True, bias=False), False),
], ids=str)
def test_gru_and_rnn_match_torch(kind, options, with_state, dtype):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(3, 4, **options)
    ours = getattr(nn, kind)(3, 4, dtype=dtype, **options)
    _same_weights(ours, theirs, dtype)
    rng = np.random.default_rng(3)
    data = rng.standard_normal((2, 5, 3) if options.get("batch_first") else (5, 2, 3)).astype(dtype)
    layers = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    state = rng.standard_normal((layers, 2, 4)).astype(dtype) if with_state else None
    x, xt = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, h = ours(x, None if state is None else cr.tensor(state))
    tout, th = theirs(xt, None if state is None else torch.tensor(state))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(h.numpy(), th.detach().numpy(), **TOL[dtype])
    weights = [rng.standard_normal(t.shape).astype(dtype) for t in (tout, th)]
    ((out * weights[0]).sum() + (h * weights[1]).sum()).backward()
    ((tout * torch.tensor(weights[0])).sum() + (th * torch.tensor(weights[1])).sum()).backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), **TOL[dtype])
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), **TOL[dtype], err_msg=name)


@pytest.mark.parametrize("kind, options", [("GRUCell", {}), ("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu"))],
                         ids=str)
def test_gru_and_rnn_cells_match_torch_step_by_step(kind, options):
    torch.manual_seed(0)
    theirs, ours = getattr(torch.nn, kind)(3, 2, **options).double(), getattr(nn, kind)(3, 2, dtype=np.float64, **options)
    _same_weights(ours, theirs, np.float64)
    data = np.random.default_rng(4).standard_normal((4, 5, 3))
    h, th = None, None
    for x in data:
        h, th = ours(cr.tensor(x), h), theirs(torch.tensor(x), th)
    np.testing.assert_allclose(h.numpy(), th.detach().numpy(), rtol=1e-10)
