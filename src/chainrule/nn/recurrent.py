"""Recurrent layers: LSTM, GRU and RNN (layers stacked, optionally bidirectional) and their cells,
with PyTorch's parameter names, shapes, gate orders (i, f, g, o; r, z, n) and initialisation, so
that a torch state_dict loads and gives the same outputs. Each layer and direction is one op over
the whole sequence (``ops.lstm``, ``ops.gru``, ``ops.rnn``)."""
from __future__ import annotations

import math

import numpy

from .. import backend
from ..errors import ShapeError
from ..ops import functional as ops
from ..tensor import Tensor
from . import init
from .checks import check_dtype, check_size
from .module import Module
from .parameter import Parameter


def _add_weights(module: Module, gates: int, input_size: int, hidden_size: int, bias: bool, suffix: str,
                 dtype) -> None:
    """``weight_ih{suffix}`` (gates·H, in), ``weight_hh{suffix}`` (gates·H, H) and the two biases,
    all U(±1/√H) as PyTorch starts them."""
    bound = 1.0 / math.sqrt(hidden_size)
    shapes = {"weight_ih": (gates * hidden_size, input_size), "weight_hh": (gates * hidden_size, hidden_size)}
    if bias:
        shapes.update(bias_ih=(gates * hidden_size,), bias_hh=(gates * hidden_size,))
    for name, shape in shapes.items():
        parameter = Parameter(backend.xp.empty(shape, dtype=dtype))
        init.uniform_(parameter, -bound, bound)
        setattr(module, f"{name}{suffix}", parameter)


class _Recurrent(Module):
    """Layers and directions of one recurrence, as PyTorch's RNN/LSTM/GRU modules.

    x: (T, N, input_size), or (N, T, input_size) with ``batch_first``; the initial state (h0, or
    (h0, c0) for the LSTM): each (num_layers·D, N, hidden_size), zeros when absent, D = 2 when
    ``bidirectional`` → output (T, N, D·hidden_size) (batch first likewise) and the final state in
    the initial state's form. ``dropout`` applies to every layer's output but the last, in training.
    Parameters ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, with
    ``_reverse`` for the backward direction.
    """

    gates = 1
    has_cell = False

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, dtype=numpy.float32):
        super().__init__()
        name = type(self).__name__
        self.input_size = check_size(name, "input_size", input_size)
        self.hidden_size = check_size(name, "hidden_size", hidden_size)
        self.num_layers = check_size(name, "num_layers", num_layers)
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                _add_weights(self, self.gates, width, hidden_size, bias, f"_l{layer}{suffix}", dtype)

    def _weights(self, layer: int, suffix: str) -> tuple:
        names = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if self.bias else ())
        return tuple(getattr(self, f"{name}_l{layer}{suffix}") for name in names)

    def _run(self, x: Tensor, states: tuple, weights: tuple) -> tuple:
        """(the hidden states (T, N, H), the final state as a tuple) of one layer in one direction."""
        raise NotImplementedError

    def label(self) -> str:
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def forward(self, x: Tensor, state=None) -> tuple:
        if x.ndim != 3 or x.shape[2] != self.input_size:
            order = "(N, T, input_size)" if self.batch_first else "(T, N, input_size)"
            raise ShapeError(f"{self.label()}: expected input {order} with input_size {self.input_size}, got {x.shape}")
        check_dtype(self.label(), x, self.weight_ih_l0.dtype)
        if self.batch_first:
            x = x.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        shape = (self.num_layers * directions, x.shape[1], self.hidden_size)
        if state is None:
            zeros = Tensor(backend.array_module(x.data).zeros(shape, dtype=x.dtype))
            state = (zeros, zeros) if self.has_cell else zeros
        states = state if self.has_cell else (state,)
        if any(s.shape != shape for s in states):
            raise ShapeError(f"{self.label()}: expected initial states of shape {shape}, got {[s.shape for s in states]}")
        finals = [[] for _ in states]
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(("", "_reverse")[:directions]):
                index = layer * directions + direction
                sequence = x.flip(0) if direction else x
                hs, final = self._run(sequence, tuple(s[index] for s in states), self._weights(layer, suffix))
                outputs.append(hs.flip(0) if direction else hs)
                for kept, value in zip(finals, final):
                    kept.append(value)
            x = outputs[0] if directions == 1 else ops.cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = ops.dropout(x, self.dropout)
        output = x.transpose(0, 1) if self.batch_first else x
        final = tuple(ops.stack(kept, 0) for kept in finals)
        return output, (final if self.has_cell else final[0])

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.batch_first:
            text += ", batch_first=True"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class LSTM(_Recurrent):
    """A multi-layer LSTM over a sequence, as ``torch.nn.LSTM`` (see :class:`_Recurrent`); its state
    is (h, c)."""

    gates, has_cell = 4, True

    def _run(self, x: Tensor, states: tuple, weights: tuple) -> tuple:
        y = ops.lstm(x, *states, *weights)
        return y[:-1], (y[-2], y[-1])


class GRU(_Recurrent):
    """A multi-layer GRU over a sequence, as ``torch.nn.GRU`` (see :class:`_Recurrent`); its state is h."""

    gates = 3

    def _run(self, x: Tensor, states: tuple, weights: tuple) -> tuple:
        hs = ops.gru(x, *states, *weights)
        return hs, (hs[-1],)


class RNN(_Recurrent):
    """A multi-layer Elman RNN over a sequence, as ``torch.nn.RNN``, with ``nonlinearity`` "tanh" or
    "relu" (see :class:`_Recurrent`); its state is h."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype=numpy.float32):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype)
        self.nonlinearity = nonlinearity

    def _run(self, x: Tensor, states: tuple, weights: tuple) -> tuple:
        weights = weights if self.bias else (*weights, None, None)
        hs = ops.rnn(x, *states, *weights, nonlinearity=self.nonlinearity)
        return hs, (hs[-1],)


class _Cell(Module):
    """One step of a recurrence, as PyTorch's cells: x (N, input_size) and the state (zeros when
    absent) → the next state. Parameters ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=numpy.float32):
        super().__init__()
        name = type(self).__name__
        self.input_size = check_size(name, "input_size", input_size)
        self.hidden_size = check_size(name, "hidden_size", hidden_size)
        self.bias = bias
        _add_weights(self, self.gates, input_size, hidden_size, bias, "", dtype)

    def _step(self, x: Tensor, state, zeros: Tensor, weights: tuple):
        raise NotImplementedError

    def forward(self, x: Tensor, state=None):
        label = f"{type(self).__name__}({self.input_size}, {self.hidden_size})"
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ShapeError(f"{label}: expected input (N, {self.input_size}), got {x.shape}")
        check_dtype(label, x, self.weight_ih.dtype)
        zeros = Tensor(backend.array_module(x.data).zeros((x.shape[0], self.hidden_size), dtype=x.dtype))
        weights = (self.weight_ih, self.weight_hh) + ((self.bias_ih, self.bias_hh) if self.bias else (None, None))
        return self._step(x.unsqueeze(0), state, zeros, weights)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class LSTMCell(_Cell):
    """One LSTM step, as ``torch.nn.LSTMCell``: (h, c) → (h', c')."""

    gates = 4

    def _step(self, x, state, zeros, weights):
        h, c = (zeros, zeros) if state is None else state
        y = ops.lstm(x, h, c, *weights)
        return y[0], y[1]


class GRUCell(_Cell):
    """One GRU step, as ``torch.nn.GRUCell``: h → h'."""

    gates = 3

    def _step(self, x, state, zeros, weights):
        return ops.gru(x, zeros if state is None else state, *weights)[0]


class RNNCell(_Cell):
    """One Elman RNN step, as ``torch.nn.RNNCell`` ("tanh" or "relu"): h → h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 dtype=numpy.float32):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def _step(self, x, state, zeros, weights):
        return ops.rnn(x, zeros if state is None else state, *weights, nonlinearity=self.nonlinearity)[0]
