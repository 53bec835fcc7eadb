"""Known answers: gradients written out by hand, reached three ways.

1. The CS231n two-variable example f(x, y) = (x + σ(y)) / (σ(x) + (x + y)²) at
   x = 3, y = −4, whose gradient is df/dx = 2.0595697955721652,
   df/dy = 1.5922327514838093 — through the graph, and through Function objects
   called by hand in the seeds' style (forward, then backward in reverse order,
   summing the gradients of a variable used more than once).
2. A two-layer ReLU MLP with MSE, by hand with ``ops.Linear``/``ops.ReLU``/``ops.MSE``,
   through the graph, and through PyTorch autograd.
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
