"""Recurrent ops: a whole LSTM sequence as one Function, with its backward through time
derived gate by gate. One layer, one direction; ``nn.LSTM`` stacks and reverses them.

Shapes: x: (T, N, D_in), h0, c0: (N, H), W_ih: (4H, D_in), W_hh: (4H, H), b_ih, b_hh: (4H,)
→ y: (T + 1, N, H): h_1 … h_T, then c_T as a last row (so that one op has one output, and
the final cell state still gets its gradient). Gates in PyTorch's order: i, f, g, o.
"""
from __future__ import annotations

from ..backend import array_module
from ..errors import ShapeError
from ..tensor import Function, Tensor, recomputed_gradients
from .activations import _stable_sigmoid, sigmoid, tanh
from .dtypes import check_same_dtype
from .linalg import linear
from .registry import public, register
from .shape import GetItem, stack


@register("lstm")
class LSTM(Function):
    """h_t, c_t from x_t, h_{t−1}, c_{t−1}, for t = 1 … T:

        z = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh = [z_i | z_f | z_g | z_o]   (N, 4H)
        i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)
        c_t = f·c_{t−1} + i·g,   h_t = o·tanh(c_t)
    """

    saved_names = ("x", "h", "c", "gates", "W_ih", "W_hh")

    def forward(self, x, h0, c0, W_ih, W_hh, b_ih, b_hh):
        if x.ndim != 3 or h0.shape != (x.shape[1], W_hh.shape[1]) or c0.shape != h0.shape:
            raise ShapeError(f"lstm: expected x (T, N, D), h0 and c0 (N, H), got {x.shape}, {h0.shape}, {c0.shape}")
        hidden = h0.shape[1]
        if W_ih.shape != (4 * hidden, x.shape[2]) or W_hh.shape != (4 * hidden, hidden) or b_ih.shape != (4 * hidden,):
            raise ShapeError(f"lstm: expected W_ih (4H, D) = {(4 * hidden, x.shape[2])}, W_hh (4H, H) and biases "
                             f"(4H,), got {W_ih.shape}, {W_hh.shape}, {b_ih.shape}")
        if x.shape[0] == 0:
            raise ShapeError("lstm: the sequence is empty (T = 0)")
        check_same_dtype("lstm", x, h0, c0, W_ih, W_hh, b_ih, b_hh)
        xp = array_module(x)
        steps, batch = x.shape[:2]
        # The input part of every step at once: one product instead of T.
        z_input = (x.reshape(steps * batch, x.shape[2]) @ W_ih.T + (b_ih + b_hh)).reshape(steps, batch, 4 * hidden)
        h = xp.empty((steps + 1, batch, hidden), dtype=x.dtype)
        c = xp.empty_like(h)
        gates = xp.empty((steps, batch, 4 * hidden), dtype=x.dtype)
        h[0], c[0] = h0, c0
        for t in range(steps):
            z = z_input[t] + h[t] @ W_hh.T
            gate = gates[t]
            gate[:, :2 * hidden] = _stable_sigmoid(z[:, :2 * hidden])
            gate[:, 2 * hidden:3 * hidden] = xp.tanh(z[:, 2 * hidden:3 * hidden])
            gate[:, 3 * hidden:] = _stable_sigmoid(z[:, 3 * hidden:])
            i, f, g, o = (gate[:, k * hidden:(k + 1) * hidden] for k in range(4))
            c[t + 1] = f * c[t] + i * g
            h[t + 1] = o * xp.tanh(c[t + 1])
        self.save_for_backward(x, h, c, gates, W_ih, W_hh)
        return xp.concatenate((h[1:], c[-1:]), axis=0)

    formula = ("c_t = σ(z_f)·c_{t−1} + σ(z_i)·tanh(z_g), h_t = σ(z_o)·tanh(c_t) "
               "⇒ dx = dz·W_ih at each step, dW_ih = Σ_t dz_tᵀ·x_t, dW_hh = Σ_t dz_tᵀ·h_{t−1}, db_ih = Σ dz, "
               "db_hh = Σ dz, dh0 = dz_1·W_hh, dc0 = dc_1·f_1 (dz_t, dc_t: back through time from t = T)")

    def backward(self, dy):
        # Back through time, t = T … 1, with dh and dc the gradients reaching h_t and c_t:
        #   do = dh·tanh(c_t);  dc += dh·o·(1 − tanh²c_t)
        #   di = dc·g, dg = dc·i, df = dc·c_{t−1};  dc_{t−1} = dc·f
        #   dz = [di·i(1−i) | df·f(1−f) | dg·(1 − g²) | do·o(1−o)];  dh_{t−1} = dh_{t−1}(from y) + dz·W_hh
        x, h, c, gates, W_ih, W_hh = self.saved_tensors
        xp = array_module(dy)
        steps, batch, hidden = h.shape[0] - 1, h.shape[1], h.shape[2]
        dz_all = xp.empty_like(gates)
        dh_next = xp.zeros((batch, hidden), dtype=dy.dtype)
        dc = dy[steps].copy()
        for t in range(steps - 1, -1, -1):
            i, f, g, o = (gates[t][:, k * hidden:(k + 1) * hidden] for k in range(4))
            dh = dy[t] + dh_next
            tanh_c = xp.tanh(c[t + 1])
            dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
            dz = dz_all[t]
            dz[:, :hidden] = dc * g * i * (1.0 - i)
            dz[:, hidden:2 * hidden] = dc * c[t] * f * (1.0 - f)
            dz[:, 2 * hidden:3 * hidden] = dc * i * (1.0 - g * g)
            dz[:, 3 * hidden:] = dh * tanh_c * o * (1.0 - o)
            dh_next = dz @ W_hh
            dc = dc * f
        flat = dz_all.reshape(steps * batch, 4 * hidden)
        dx = (flat @ W_ih).reshape(x.shape)
        dW_ih = flat.T @ x.reshape(steps * batch, x.shape[2])
        dW_hh = flat.T @ h[:-1].reshape(steps * batch, hidden)
        db = flat.sum(axis=0)
        return dx, dh_next, dc, dW_ih, dW_hh, db, db.copy()

    def backward_graph(self, dy):
        # The same recurrence again with differentiable ops (linear, σ, tanh, products, indexing),
        # whose own hand-derived backward_graph gives the derivatives of every order.
        return recomputed_gradients(self, lstm_on_graph, dy)


def lstm_on_graph(x: Tensor, h: Tensor, c: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tensor:
    """The LSTM recurrence composed of ops, step by step: what :class:`LSTM` computes in one node."""
    hidden = h.shape[1]
    outputs = []
    for t in range(x.shape[0]):
        z = linear(GetItem(t)(x), W_ih, b_ih) + linear(h, W_hh, b_hh)
        i, f, g, o = (GetItem((slice(None), slice(k * hidden, (k + 1) * hidden)))(z) for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h = sigmoid(o) * tanh(c)
        outputs.append(h)
    return stack(outputs + [c], axis=0)


@public()
def lstm(x: Tensor, h0: Tensor, c0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None = None,
         bias_hh: Tensor | None = None) -> Tensor:
    """One LSTM layer over a whole sequence (see :class:`LSTM`). x: (T, N, D), h0, c0: (N, H)
    → (T + 1, N, H): h_1 … h_T, then c_T. Missing biases are zeros."""
    xp = array_module(x.data)
    zeros = Tensor(xp.zeros(weight_hh.shape[0], dtype=x.dtype))
    return LSTM()(x, h0, c0, weight_ih, weight_hh, zeros if bias_ih is None else bias_ih,
                  zeros if bias_hh is None else bias_hh)
