"""Recurrent ops: a whole sequence of an LSTM, a GRU or an Elman RNN as one Function, with
its backward through time derived gate by gate. One layer, one direction; ``nn.LSTM``,
``nn.GRU`` and ``nn.RNN`` stack and reverse them. Gates in PyTorch's order (i, f, g, o; r, z, n).

LSTM shapes: x: (T, N, D_in), h0, c0: (N, H), W_ih: (4H, D_in), W_hh: (4H, H), b_ih, b_hh: (4H,)
→ y: (T + 1, N, H): h_1 … h_T, then c_T as a last row (so that one op has one output, and the
final cell state still gets its gradient). GRU and RNN: y is h_1 … h_T, (T, N, H).
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

    saved_names = ("x", "h", "c", "tanh_c", "gates", "W_ih", "W_hh")

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
        # σ(z) = ½ + ½·tanh(z/2): with the rows of the σ gates scaled by s = ½ (1 for g), every gate
        # is a·tanh(s·z) + b, one tanh over all four. The input part of every step is one product.
        scale = _gate_scale(xp, hidden, x.dtype)
        W_hh_scaled_T = (W_hh * scale[:, None]).T
        z_input = (x.reshape(steps * batch, x.shape[2]) @ (W_ih * scale[:, None]).T
                   + (b_ih + b_hh) * scale).reshape(steps, batch, 4 * hidden)
        h = xp.empty((steps + 1, batch, hidden), dtype=x.dtype)
        c = xp.empty_like(h)
        tanh_c = xp.empty((steps, batch, hidden), dtype=x.dtype)
        gates = z_input  # each step's z becomes its gates in place
        offset = 1.0 - scale  # b: ½ for the σ gates, 0 for g
        h[0], c[0] = h0, c0
        for t in range(steps):
            gate = gates[t]
            gate += h[t] @ W_hh_scaled_T
            xp.tanh(gate, out=gate)
            gate *= scale
            gate += offset
            i, f, g, o = (gate[:, k * hidden:(k + 1) * hidden] for k in range(4))
            xp.multiply(f, c[t], out=c[t + 1])
            c[t + 1] += i * g
            xp.tanh(c[t + 1], out=tanh_c[t])
            xp.multiply(o, tanh_c[t], out=h[t + 1])
        self.save_for_backward(x, h, c, tanh_c, gates, W_ih, W_hh)
        return xp.concatenate((h[1:], c[-1:]), axis=0)

    formula = ("c_t = σ(z_f)·c_{t−1} + σ(z_i)·tanh(z_g), h_t = σ(z_o)·tanh(c_t) "
               "⇒ dx = dz·W_ih at each step, dW_ih = Σ_t dz_tᵀ·x_t, dW_hh = Σ_t dz_tᵀ·h_{t−1}, db_ih = Σ dz, "
               "db_hh = Σ dz, dh0 = dz_1·W_hh, dc0 = dc_1·f_1 (dz_t, dc_t: back through time from t = T)")

    def backward(self, dy):
        # Back through time, t = T … 1, with dh and dc the gradients reaching h_t and c_t:
        #   do = dh·tanh(c_t);  dc += dh·o·(1 − tanh²c_t)
        #   di = dc·g, dg = dc·i, df = dc·c_{t−1};  dc_{t−1} = dc·f
        #   dz = [di·i(1−i) | df·f(1−f) | dg·(1 − g²) | do·o(1−o)];  dh_{t−1} = dh_{t−1}(from y) + dz·W_hh
        x, h, c, tanh_c, gates, W_ih, W_hh = self.saved_tensors
        xp = array_module(dy)
        steps, batch, hidden = h.shape[0] - 1, h.shape[1], h.shape[2]
        # What does not depend on dh or dc, for every step at once, so that the loop is a few calls a step:
        # the gates' slopes σ(1−σ) and 1 − g², o·(1 − tanh²c), and the factors [g, c_{t−1}, i] of dc.
        by_gate = gates.reshape(steps, batch, 4, hidden)
        slopes = by_gate * (1.0 - by_gate)
        slopes[:, :, 2] = 1.0 - by_gate[:, :, 2] * by_gate[:, :, 2]
        to_cell = by_gate[:, :, 3] * (1.0 - tanh_c * tanh_c)
        factors = xp.stack((by_gate[:, :, 2], c[:-1], by_gate[:, :, 0]), axis=2)
        forget = by_gate[:, :, 1]
        dz_all = xp.empty_like(by_gate)
        dh = dy[steps - 1].copy()
        dc = dy[steps].copy()
        for t in range(steps - 1, -1, -1):
            dc += dh * to_cell[t]
            dz = dz_all[t]
            xp.multiply(dc[:, None, :], factors[t], out=dz[:, :3])
            xp.multiply(dh, tanh_c[t], out=dz[:, 3])
            dz *= slopes[t]
            dh = dz.reshape(batch, 4 * hidden) @ W_hh
            if t:
                dh += dy[t - 1]
            dc *= forget[t]
        flat = dz_all.reshape(steps * batch, 4 * hidden)
        dx = (flat @ W_ih).reshape(x.shape)
        dW_ih = flat.T @ x.reshape(steps * batch, x.shape[2])
        dW_hh = flat.T @ h[:-1].reshape(steps * batch, hidden)
        db = flat.sum(axis=0)
        return dx, dh, dc, dW_ih, dW_hh, db, db.copy()

    def backward_graph(self, dy):
        # The same recurrence again with differentiable ops (linear, σ, tanh, products, indexing),
        # whose own hand-derived backward_graph gives the derivatives of every order.
        return recomputed_gradients(self, lstm_on_graph, dy)


def _gate_scale(xp, hidden: int, dtype):
    """½ on the rows of the σ gates (i, f, o), 1 on those of g: σ(z) = ½ + ½·tanh(z/2)."""
    scale = xp.full(4 * hidden, 0.5, dtype=dtype)
    scale[2 * hidden:3 * hidden] = 1.0
    return scale


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


def _check_recurrence(op: str, gates: int, x, h0, W_ih, W_hh, b_ih) -> int:
    """The hidden size H, after checking the shapes of a one-layer recurrence with ``gates`` gates."""
    if x.ndim != 3 or h0.ndim != 2 or h0.shape[0] != x.shape[1]:
        raise ShapeError(f"{op}: expected x (T, N, D) and h0 (N, H), got {x.shape} and {h0.shape}")
    hidden = h0.shape[1]
    if W_ih.shape != (gates * hidden, x.shape[2]) or W_hh.shape != (gates * hidden, hidden) \
            or b_ih.shape != (gates * hidden,):
        raise ShapeError(f"{op}: expected W_ih {(gates * hidden, x.shape[2])}, W_hh {(gates * hidden, hidden)} and "
                         f"biases ({gates * hidden},), got {W_ih.shape}, {W_hh.shape}, {b_ih.shape}")
    if x.shape[0] == 0:
        raise ShapeError(f"{op}: the sequence is empty (T = 0)")
    return hidden


@register("rnn")
class RNN(Function):
    """The Elman recurrence over a whole sequence, PyTorch's nn.RNN layer:
    h_t = act(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh), act tanh or relu.

    x: (T, N, D), h0: (N, H), W_ih: (H, D), W_hh: (H, H), b_ih, b_hh: (H,) → y: (T, N, H) = h_1 … h_T.
    """

    def __init__(self, nonlinearity: str = "tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity

    saved_names = ("x", "h", "W_ih", "W_hh")

    def forward(self, x, h0, W_ih, W_hh, b_ih, b_hh):
        hidden = _check_recurrence("rnn", 1, x, h0, W_ih, W_hh, b_ih)
        check_same_dtype("rnn", x, h0, W_ih, W_hh, b_ih, b_hh)
        xp = array_module(x)
        steps, batch = x.shape[:2]
        z_input = (x.reshape(steps * batch, x.shape[2]) @ W_ih.T + (b_ih + b_hh)).reshape(steps, batch, hidden)
        h = xp.empty((steps + 1, batch, hidden), dtype=x.dtype)
        h[0] = h0
        for t in range(steps):
            z = z_input[t] + h[t] @ W_hh.T
            h[t + 1] = xp.tanh(z) if self.nonlinearity == "tanh" else xp.maximum(z, 0)
        self.save_for_backward(x, h, W_ih, W_hh)
        return h[1:].copy()

    @property
    def formula(self) -> str:
        slope = "(1 − h_t²)" if self.nonlinearity == "tanh" else "[h_t > 0]"
        return (f"h_t = {self.nonlinearity}(x_t·W_ihᵀ + h_{{t−1}}·W_hhᵀ + b) ⇒ dx = dz·W_ih at each step, "
                f"dW_ih = Σ_t dz_tᵀ·x_t, dW_hh = Σ_t dz_tᵀ·h_{{t−1}}, db_ih = Σ dz, db_hh = Σ dz, dh0 = dz_1·W_hh "
                f"(dz_t = (dy_t + dz_{{t+1}}·W_hh)·{slope}, from t = T back)")

    def backward(self, dy):
        x, h, W_ih, W_hh = self.saved_tensors
        xp = array_module(dy)
        steps, batch, hidden = dy.shape
        dz_all = xp.empty_like(dy)
        dh_next = xp.zeros((batch, hidden), dtype=dy.dtype)
        for t in range(steps - 1, -1, -1):
            dh = dy[t] + dh_next
            dz_all[t] = dh * (1.0 - h[t + 1] * h[t + 1]) if self.nonlinearity == "tanh" else dh * (h[t + 1] > 0)
            dh_next = dz_all[t] @ W_hh
        flat = dz_all.reshape(steps * batch, hidden)
        db = flat.sum(axis=0)
        return ((flat @ W_ih).reshape(x.shape), dh_next, flat.T @ x.reshape(steps * batch, x.shape[2]),
                flat.T @ h[:-1].reshape(steps * batch, hidden), db, db.copy())

    def backward_graph(self, dy):
        return recomputed_gradients(self, lambda *inputs: rnn_on_graph(self.nonlinearity, *inputs), dy)


def rnn_on_graph(nonlinearity: str, x, h, W_ih, W_hh, b_ih, b_hh) -> Tensor:
    """The RNN recurrence composed of ops, step by step: what :class:`RNN` computes in one node."""
    from .activations import relu

    outputs = []
    for t in range(x.shape[0]):
        z = linear(GetItem(t)(x), W_ih, b_ih) + linear(h, W_hh, b_hh)
        h = tanh(z) if nonlinearity == "tanh" else relu(z)
        outputs.append(h)
    return stack(outputs, axis=0)


@public()
def rnn(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None = None,
        bias_hh: Tensor | None = None, nonlinearity: str = "tanh") -> Tensor:
    """One Elman RNN layer over a whole sequence (see :class:`RNN`). x: (T, N, D), h0: (N, H) → (T, N, H)."""
    zeros = Tensor(array_module(x.data).zeros(weight_hh.shape[0], dtype=x.dtype))
    return RNN(nonlinearity)(x, h0, weight_ih, weight_hh, zeros if bias_ih is None else bias_ih,
                             zeros if bias_hh is None else bias_hh)


@register("gru")
class GRU(Function):
    """The GRU recurrence over a whole sequence, PyTorch's nn.GRU layer (gates r, z, n):

        r = σ(x·W_irᵀ + b_ir + h·W_hrᵀ + b_hr),  z = σ(x·W_izᵀ + b_iz + h·W_hzᵀ + b_hz)
        n = tanh(x·W_inᵀ + b_in + r·(h·W_hnᵀ + b_hn)),  h' = (1 − z)·n + z·h

    x: (T, N, D), h0: (N, H), W_ih: (3H, D), W_hh: (3H, H), b_ih, b_hh: (3H,) → y: (T, N, H).
    """

    saved_names = ("x", "h", "gates", "hidden_n", "W_ih", "W_hh")

    def forward(self, x, h0, W_ih, W_hh, b_ih, b_hh):
        H = _check_recurrence("gru", 3, x, h0, W_ih, W_hh, b_ih)
        check_same_dtype("gru", x, h0, W_ih, W_hh, b_ih, b_hh)
        xp = array_module(x)
        steps, batch = x.shape[:2]
        g_input = (x.reshape(steps * batch, x.shape[2]) @ W_ih.T + b_ih).reshape(steps, batch, 3 * H)
        h = xp.empty((steps + 1, batch, H), dtype=x.dtype)
        gates = xp.empty((steps, batch, 3 * H), dtype=x.dtype)
        hidden_n = xp.empty((steps, batch, H), dtype=x.dtype)
        h[0] = h0
        for t in range(steps):
            g_hidden = h[t] @ W_hh.T + b_hh
            gate = gates[t]
            gate[:, :2 * H] = _stable_sigmoid(g_input[t][:, :2 * H] + g_hidden[:, :2 * H])
            hidden_n[t] = g_hidden[:, 2 * H:]
            gate[:, 2 * H:] = xp.tanh(g_input[t][:, 2 * H:] + gate[:, :H] * hidden_n[t])
            z, n = gate[:, H:2 * H], gate[:, 2 * H:]
            h[t + 1] = (1.0 - z) * n + z * h[t]
        self.save_for_backward(x, h, gates, hidden_n, W_ih, W_hh)
        return h[1:].copy()

    formula = ("h_t = (1 − z)·n + z·h_{t−1}, n = tanh(x·W_inᵀ + b_in + r·(h_{t−1}·W_hnᵀ + b_hn)) "
               "⇒ dx = di·W_ih at each step, dW_ih = Σ_t di_tᵀ·x_t, dW_hh = Σ_t dg_tᵀ·h_{t−1}, db_ih = Σ di, "
               "db_hh = Σ dg, dh0 = dh_1·z_1 + dg_1·W_hh (di, dg: the gates' input and hidden-side gradients)")

    def backward(self, dy):
        # dn = dh·(1 − z), dz = dh·(h_{t−1} − n), dh_{t−1} = dh·z + dg·W_hh with
        # dn̂ = dn·(1 − n²), dr̂ = dn̂·ĥ_n·r(1 − r), dẑ = dz·z(1 − z), ĥ_n = h_{t−1}·W_hnᵀ + b_hn:
        # the input side gets [dr̂, dẑ, dn̂], the hidden side [dr̂, dẑ, dn̂·r] (b_hn sits inside r·( ))
        x, h, gates, hidden_n, W_ih, W_hh = self.saved_tensors
        xp = array_module(dy)
        steps, batch, H = dy.shape
        d_input = xp.empty_like(gates)
        d_hidden = xp.empty_like(gates)
        dh_next = xp.zeros((batch, H), dtype=dy.dtype)
        for t in range(steps - 1, -1, -1):
            r, z, n = gates[t][:, :H], gates[t][:, H:2 * H], gates[t][:, 2 * H:]
            dh = dy[t] + dh_next
            dn = dh * (1.0 - z) * (1.0 - n * n)
            dr = dn * hidden_n[t] * r * (1.0 - r)
            dz = dh * (h[t] - n) * z * (1.0 - z)
            d_input[t][:, :H], d_input[t][:, H:2 * H], d_input[t][:, 2 * H:] = dr, dz, dn
            d_hidden[t][:, :H], d_hidden[t][:, H:2 * H], d_hidden[t][:, 2 * H:] = dr, dz, dn * r
            dh_next = dh * z + d_hidden[t] @ W_hh
        flat_input = d_input.reshape(steps * batch, 3 * H)
        flat_hidden = d_hidden.reshape(steps * batch, 3 * H)
        return ((flat_input @ W_ih).reshape(x.shape), dh_next, flat_input.T @ x.reshape(steps * batch, x.shape[2]),
                flat_hidden.T @ h[:-1].reshape(steps * batch, H), flat_input.sum(axis=0), flat_hidden.sum(axis=0))

    def backward_graph(self, dy):
        return recomputed_gradients(self, gru_on_graph, dy)


def gru_on_graph(x, h, W_ih, W_hh, b_ih, b_hh) -> Tensor:
    """The GRU recurrence composed of ops, step by step: what :class:`GRU` computes in one node."""
    H = h.shape[1]

    def part(a, k):
        return GetItem((slice(None), slice(k * H, (k + 1) * H)))(a)

    outputs = []
    for t in range(x.shape[0]):
        g_input, g_hidden = linear(GetItem(t)(x), W_ih, b_ih), linear(h, W_hh, b_hh)
        r = sigmoid(part(g_input, 0) + part(g_hidden, 0))
        z = sigmoid(part(g_input, 1) + part(g_hidden, 1))
        n = tanh(part(g_input, 2) + r * part(g_hidden, 2))
        h = (1.0 - z) * n + z * h
        outputs.append(h)
    return stack(outputs, axis=0)


@public()
def gru(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None = None,
        bias_hh: Tensor | None = None) -> Tensor:
    """One GRU layer over a whole sequence (see :class:`GRU`). x: (T, N, D), h0: (N, H) → (T, N, H)."""
    zeros = Tensor(array_module(x.data).zeros(weight_hh.shape[0], dtype=x.dtype))
    return GRU()(x, h0, weight_ih, weight_hh, zeros if bias_ih is None else bias_ih, zeros if bias_hh is None else bias_hh)
