"""Known answers: gradients written out by hand, reached three ways.

1. The CS231n two-variable example f(x, y) = (x + σ(y)) / (σ(x) + (x + y)²) at
   x = 3, y = −4, whose gradient is df/dx = 2.0595697955721652,
   df/dy = 1.5922327514838093 — through the graph, and through Function objects
   called by hand in the seeds' style (forward, then backward in reverse order,
   summing the gradients of a variable used more than once).
2. A two-layer ReLU MLP with MSE, by hand with ``ops.Linear``/``ops.ReLU``/``ops.MSE``,
   through the graph, and through PyTorch autograd.
3. CS231n's rnn_step_forward and lstm_step_forward checks, from the assignment's linspace inputs.
"""
import numpy as np
import pytest

import chainrule as cr
from chainrule import ops

DF_DX = 2.0595697955721652
DF_DY = 1.5922327514838093


def sigmoid(t: cr.Tensor) -> cr.Tensor:
    return 1.0 / (1.0 + cr.exp(-t))


def test_cs231n_example_through_the_graph():
    x = cr.tensor(3.0, dtype=np.float64, requires_grad=True)
    y = cr.tensor(-4.0, dtype=np.float64, requires_grad=True)
    f = (x + sigmoid(y)) / (sigmoid(x) + (x + y) ** 2)
    f.backward()
    assert f.dtype == np.float64
    assert x.grad.item() == pytest.approx(DF_DX, abs=1e-12)
    assert y.grad.item() == pytest.approx(DF_DY, abs=1e-12)


def _sigmoid_by_hand(t):
    """σ(t) = 1 / (1 + e^(−t)) as four hand-called Functions; returns σ and its backward."""
    one = np.array(1.0)
    neg, exp, add, div = ops.Neg(), ops.Exp(), ops.Add(), ops.Div()
    s = div.forward(one, add.forward(one, exp.forward(neg.forward(t))))

    def backward(ds):
        _, d_denominator = div.backward(ds)
        _, d_exp = add.backward(d_denominator)
        (d_neg,) = exp.backward(d_exp)
        (dt,) = neg.backward(d_neg)
        return dt

    return s, backward


def test_cs231n_example_by_hand_matches_the_graph():
    x, y = np.array(3.0), np.array(-4.0)
    # forward, staged as in the CS231n notes
    sig_y, sig_y_backward = _sigmoid_by_hand(y)
    num_add = ops.Add()
    num = num_add.forward(x, sig_y)
    sig_x, sig_x_backward = _sigmoid_by_hand(x)
    xpy_add, square = ops.Add(), ops.PowScalar(2)
    xpy_sqr = square.forward(xpy_add.forward(x, y))
    den_add, out_div = ops.Add(), ops.Div()
    den = den_add.forward(sig_x, xpy_sqr)
    f = out_div.forward(num, den)
    # backward in reverse order; x and y are used more than once, so their gradients add up
    d_num, d_den = out_div.backward(np.array(1.0))
    d_sig_x, d_xpy_sqr = den_add.backward(d_den)
    (d_xpy,) = square.backward(d_xpy_sqr)
    dx, dy = xpy_add.backward(d_xpy)
    dx = dx + sig_x_backward(d_sig_x)
    dx_num, d_sig_y = num_add.backward(d_num)
    dx = dx + dx_num
    dy = dy + sig_y_backward(d_sig_y)

    assert float(dx) == pytest.approx(DF_DX, abs=1e-12)
    assert float(dy) == pytest.approx(DF_DY, abs=1e-12)
    gx = cr.tensor(3.0, dtype=np.float64, requires_grad=True)
    gy = cr.tensor(-4.0, dtype=np.float64, requires_grad=True)
    g = (gx + sigmoid(gy)) / (sigmoid(gx) + (gx + gy) ** 2)
    g.backward()
    assert float(f) == pytest.approx(g.item(), abs=1e-15)
    assert float(dx) == pytest.approx(gx.grad.item(), abs=1e-15)
    assert float(dy) == pytest.approx(gy.grad.item(), abs=1e-15)


# -- a two-layer MLP with MSE -----------------------------------------------------------
N, D_IN, HIDDEN, D_OUT = 16, 8, 5, 3


def mlp_arrays():
    rng = np.random.default_rng(7)
    return {
        "X": rng.standard_normal((N, D_IN)),
        "W1": rng.standard_normal((HIDDEN, D_IN)) / np.sqrt(D_IN),
        "b1": rng.standard_normal(HIDDEN) * 0.1,
        "W2": rng.standard_normal((D_OUT, HIDDEN)) / np.sqrt(HIDDEN),
        "b2": rng.standard_normal(D_OUT) * 0.1,
        "T": rng.standard_normal((N, D_OUT)),
    }


def mlp_by_hand(p):
    """The seeds' style: each Function's forward, then each backward in reverse."""
    lin1, relu, lin2, mse = ops.Linear(), ops.ReLU(), ops.Linear(), ops.MSE()
    h = lin1.forward(p["X"], p["W1"], p["b1"])
    a = relu.forward(h)
    out = lin2.forward(a, p["W2"], p["b2"])
    loss = mse.forward(out, p["T"])
    d_out, _ = mse.backward(np.array(1.0))
    d_a, dW2, db2 = lin2.backward(d_out)
    (d_h,) = relu.backward(d_a)
    dX, dW1, db1 = lin1.backward(d_h)
    return float(loss), {"X": dX, "W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def mlp_graph(p):
    t = {k: cr.tensor(v, requires_grad=k != "T") for k, v in p.items()}
    loss = cr.mse(cr.linear(cr.relu(cr.linear(t["X"], t["W1"], t["b1"])), t["W2"], t["b2"]), t["T"])
    loss.backward()
    return loss.item(), {k: t[k].grad for k in ("X", "W1", "b1", "W2", "b2")}


def mlp_torch(p):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    t = {k: torch.tensor(v, requires_grad=k != "T") for k, v in p.items()}
    hidden = functional.relu(functional.linear(t["X"], t["W1"], t["b1"]))
    loss = functional.mse_loss(functional.linear(hidden, t["W2"], t["b2"]), t["T"])
    loss.backward()
    return loss.item(), {k: t[k].grad.numpy() for k in ("X", "W1", "b1", "W2", "b2")}


@pytest.mark.parametrize("oracle", [mlp_graph, mlp_torch], ids=["graph", "torch"])
def test_mlp_by_hand_matches(oracle):
    p = mlp_arrays()
    # the hidden layer must have both active and dead units, or ReLU's backward goes untested
    pre_activation = p["X"] @ p["W1"].T + p["b1"]
    assert (pre_activation > 0).any() and (pre_activation < 0).any()
    loss_hand, grads_hand = mlp_by_hand(p)
    loss, grads = oracle(p)
    assert loss == pytest.approx(loss_hand, abs=1e-12)
    for name, expected in grads_hand.items():
        assert grads[name].shape == p[name].shape and grads[name].dtype == np.float64
        np.testing.assert_allclose(grads[name], expected, rtol=1e-12, atol=1e-12,
                                   err_msg=f"d loss / d {name}: by hand vs {oracle.__name__}")


# -- CS231n's recurrent step checks (assignment 3), inputs rebuilt from its linspace recipe -----------
def test_cs231n_rnn_step_forward():
    n, d, h = 3, 10, 4
    x = np.linspace(-0.4, 0.7, num=n * d).reshape(n, d)
    prev_h = np.linspace(-0.2, 0.5, num=n * h).reshape(n, h)
    wx = np.linspace(-0.1, 0.9, num=d * h).reshape(d, h)   # CS231n's x·Wx: PyTorch's weight is its transpose
    wh = np.linspace(-0.3, 0.7, num=h * h).reshape(h, h)
    b = np.linspace(-0.2, 0.4, num=h)
    next_h = cr.rnn(cr.tensor(x[None]), cr.tensor(prev_h), cr.tensor(wx.T), cr.tensor(wh.T), cr.tensor(b),
                    cr.tensor(np.zeros(h)))
    expected = np.asarray([[-0.58172089, -0.50182032, -0.41232771, -0.31410098],
                           [0.66854692, 0.79562378, 0.87755553, 0.92795967],
                           [0.97934501, 0.99144213, 0.99646691, 0.99854353]])
    np.testing.assert_allclose(next_h.numpy()[0], expected, atol=1e-8)  # published to 8 decimals


def test_cs231n_lstm_step_forward():
    n, d, h = 3, 4, 5
    x = np.linspace(-0.4, 1.2, num=n * d).reshape(n, d)
    prev_h = np.linspace(-0.3, 0.7, num=n * h).reshape(n, h)
    prev_c = np.linspace(-0.4, 0.9, num=n * h).reshape(n, h)
    wx = np.linspace(-2.1, 1.3, num=4 * d * h).reshape(d, 4 * h)
    wh = np.linspace(-0.7, 2.2, num=4 * h * h).reshape(h, 4 * h)
    b = np.linspace(0.3, 0.7, num=4 * h)
    order = np.r_[0:2 * h, 3 * h:4 * h, 2 * h:3 * h]  # CS231n's gates i, f, o, g as PyTorch's i, f, g, o
    y = cr.lstm(cr.tensor(x[None]), cr.tensor(prev_h), cr.tensor(prev_c), cr.tensor(wx.T[order]),
                cr.tensor(wh.T[order]), cr.tensor(b[order]), cr.tensor(np.zeros(4 * h)))
    expected_h = np.asarray([[0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
                             [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
                             [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]])
    expected_c = np.asarray([[0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
                             [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
                             [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])
    np.testing.assert_allclose(y.numpy()[0], expected_h, atol=1e-8)
    np.testing.assert_allclose(y.numpy()[1], expected_c, atol=1e-8)
