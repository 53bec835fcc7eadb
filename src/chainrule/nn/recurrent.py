"""Recurrent layers: LSTM (layers stacked, optionally bidirectional) and LSTMCell, with PyTorch's
parameter names, shapes, gate order (i, f, g, o) and initialisation, so that a torch state_dict
loads and gives the same outputs. Each layer and direction is one ``ops.LSTM`` over the sequence."""
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


class LSTM(Module):
    """A multi-layer LSTM over a sequence, as ``torch.nn.LSTM``.

    x: (T, N, input_size), or (N, T, input_size) with ``batch_first``; (h0, c0): each
    (num_layers·D, N, hidden_size), zeros when absent (D = 2 when ``bidirectional``) →
    output (T, N, D·hidden_size) (batch first likewise) and (h_n, c_n), each (num_layers·D, N, hidden_size).
    ``dropout`` applies to the outputs of every layer but the last, in training. Parameters
    ``weight_ih_l{k}`` (4H, in), ``weight_hh_l{k}`` (4H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (4H,), with
    ``_reverse`` for the backward direction; all start U(±1/√hidden_size), as in PyTorch.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, dtype=numpy.float32):
        super().__init__()
        self.input_size = check_size("LSTM", "input_size", input_size)
        self.hidden_size = check_size("LSTM", "hidden_size", hidden_size)
        self.num_layers = check_size("LSTM", "num_layers", num_layers)
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"LSTM: dropout must be in [0, 1], got {dropout}")
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        directions = 2 if bidirectional else 1
        bound = 1.0 / math.sqrt(hidden_size)
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes = {"weight_ih": (4 * hidden_size, width), "weight_hh": (4 * hidden_size, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(4 * hidden_size,), bias_hh=(4 * hidden_size,))
                for name, shape in shapes.items():
                    parameter = Parameter(backend.xp.empty(shape, dtype=dtype))
                    init.uniform_(parameter, -bound, bound)
                    setattr(self, f"{name}_l{layer}{suffix}", parameter)

    def _weights(self, layer: int, suffix: str) -> tuple:
        names = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if self.bias else ())
        return tuple(getattr(self, f"{name}_l{layer}{suffix}") for name in names)

    def forward(self, x: Tensor, state: tuple | None = None) -> tuple:
        label = f"LSTM({self.input_size}, {self.hidden_size})"
        if x.ndim != 3 or x.shape[2] != self.input_size:
            order = "(N, T, input_size)" if self.batch_first else "(T, N, input_size)"
            raise ShapeError(f"{label}: expected input {order} with input_size {self.input_size}, got {x.shape}")
        check_dtype(label, x, self.weight_ih_l0.dtype)
        if self.batch_first:
            x = x.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        shape = (self.num_layers * directions, x.shape[1], self.hidden_size)
        if state is None:
            zeros = Tensor(backend.array_module(x.data).zeros(shape, dtype=x.dtype))
            h0 = c0 = zeros
        else:
            h0, c0 = state
            if h0.shape != shape or c0.shape != shape:
                raise ShapeError(f"{label}: expected h0 and c0 of shape {shape}, got {h0.shape} and {c0.shape}")
        finals_h, finals_c = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(("", "_reverse")[:directions]):
                index = layer * directions + direction
                sequence = x.flip(0) if direction else x
                y = ops.lstm(sequence, h0[index], c0[index], *self._weights(layer, suffix))
                hs = y[:-1]
                outputs.append(hs.flip(0) if direction else hs)
                finals_h.append(y[-2])
                finals_c.append(y[-1])
            x = outputs[0] if directions == 1 else ops.cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = ops.dropout(x, self.dropout)
        output = x.transpose(0, 1) if self.batch_first else x
        return output, (ops.stack(finals_h, 0), ops.stack(finals_c, 0))

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.batch_first:
            text += ", batch_first=True"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class LSTMCell(Module):
    """One LSTM step, as ``torch.nn.LSTMCell``: x (N, input_size), (h, c) each (N, hidden_size)
    (zeros when absent) → (h', c'). Parameters ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=numpy.float32):
        super().__init__()
        self.input_size = check_size("LSTMCell", "input_size", input_size)
        self.hidden_size = check_size("LSTMCell", "hidden_size", hidden_size)
        bound = 1.0 / math.sqrt(hidden_size)
        shapes = {"weight_ih": (4 * hidden_size, input_size), "weight_hh": (4 * hidden_size, hidden_size)}
        if bias:
            shapes.update(bias_ih=(4 * hidden_size,), bias_hh=(4 * hidden_size,))
        for name, shape in shapes.items():
            parameter = Parameter(backend.xp.empty(shape, dtype=dtype))
            init.uniform_(parameter, -bound, bound)
            setattr(self, name, parameter)
        self.bias = bias

    def forward(self, x: Tensor, state: tuple | None = None) -> tuple:
        label = f"LSTMCell({self.input_size}, {self.hidden_size})"
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ShapeError(f"{label}: expected input (N, {self.input_size}), got {x.shape}")
        check_dtype(label, x, self.weight_ih.dtype)
        if state is None:
            zeros = Tensor(backend.array_module(x.data).zeros((x.shape[0], self.hidden_size), dtype=x.dtype))
            state = (zeros, zeros)
        biases = (self.bias_ih, self.bias_hh) if self.bias else ()
        y = ops.lstm(x.unsqueeze(0), state[0], state[1], self.weight_ih, self.weight_hh, *biases)
        return y[0], y[1]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"
