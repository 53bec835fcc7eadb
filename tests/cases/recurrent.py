"""Verification cases for the ops of ``chainrule/ops/recurrent.py``: the LSTM op over a sequence,
against finite differences and against torch's own LSTM kernel (``torch.lstm``, what nn.LSTM runs)
on the same weights."""
import chainrule as cr
from oracle import case, randn, torch


def _torch_lstm(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """torch's LSTM on one layer, one direction: its outputs, then c_T, as the op returns them."""
    output, _, c_n = torch().lstm(x, (h0[None], c0[None]), (w_ih, w_hh, b_ih, b_hh), True, 1, 0.0, False, False, False)
    return torch().cat([output, c_n], 0)


for steps, batch, inputs, hidden in [(3, 2, 4, 3), (1, 1, 2, 2), (5, 3, 2, 1), (2, 0, 3, 2)]:
    case("lstm", lambda *a: cr.lstm(*a), _torch_lstm,
         randn(steps, batch, inputs), randn(batch, hidden), randn(batch, hidden), randn(4 * hidden, inputs) * 0.5,
         randn(4 * hidden, hidden) * 0.5, randn(4 * hidden) * 0.5, randn(4 * hidden) * 0.5,
         id=f"lstm(T={steps},N={batch},D={inputs},H={hidden})")
case("lstm", lambda x, w_ih, w_hh: cr.lstm(x, x[0, :, :2] * 0.5, x[-1, :, :2], w_ih, w_hh),
     lambda x, w_ih, w_hh: _torch_lstm(x, x[0, :, :2] * 0.5, x[-1, :, :2], w_ih, w_hh, torch().zeros(8, dtype=x.dtype),
                                       torch().zeros(8, dtype=x.dtype)),
     randn(4, 2, 3), randn(8, 3) * 0.5, randn(8, 2) * 0.5, id="lstm(states from x, no bias)")
case("lstm", lambda x, w, b: cr.lstm(x, x[0] * 0, x[0] * 0, w, w[:, :3], b, b), None,
     randn(2, 2, 3), randn(12, 3) * 0.5, randn(12) * 0.5, id="lstm(one weight and one bias used twice)")


def _torch_rnn(kind):
    """torch's own single-layer kernel (torch.rnn_tanh, torch.rnn_relu, torch.gru): its outputs."""
    def run(x, h0, w_ih, w_hh, b_ih, b_hh):
        return getattr(torch(), kind)(x, h0[None], (w_ih, w_hh, b_ih, b_hh), True, 1, 0.0, False, False, False)[0]
    return run


for steps, batch, inputs, hidden in [(3, 2, 4, 3), (1, 1, 2, 2), (4, 3, 2, 1)]:
    shapes = (randn(steps, batch, inputs), randn(batch, hidden))
    for kind, op, gates, ours in [("rnn_tanh", "rnn", 1, lambda *a: cr.rnn(*a)),
                                  ("rnn_relu", "rnn", 1, lambda *a: cr.rnn(*a, nonlinearity="relu")),
                                  ("gru", "gru", 3, lambda *a: cr.gru(*a))]:
        case(op, ours, _torch_rnn(kind), *shapes, randn(gates * hidden, inputs) * 0.5, randn(gates * hidden, hidden) * 0.5,
             randn(gates * hidden) * 0.5, randn(gates * hidden) * 0.5, id=f"{kind}(T={steps},N={batch},D={inputs},H={hidden})")
case("gru", lambda x, w_ih, w_hh: cr.gru(x, x[0, :, :2], w_ih, w_hh),
     lambda x, w_ih, w_hh: _torch_rnn("gru")(x, x[0, :, :2], w_ih, w_hh, torch().zeros(6, dtype=x.dtype),
                                             torch().zeros(6, dtype=x.dtype)),
     randn(3, 2, 3), randn(6, 3) * 0.5, randn(6, 2) * 0.5, id="gru(state from x, no bias)")
