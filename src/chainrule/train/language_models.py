"""Character-level language models: an LSTM and a small GPT, both mapping token ids (N, T) to
next-token logits (N, T, V), and both able to continue a text one token at a time (``next_logits``).

CharTransformer's block is PyTorch's own recipe for a decoder-only (GPT) block:
``nn.TransformerEncoderLayer(norm_first=True, activation="gelu", batch_first=True)`` called with
``is_causal=True``, so that position t attends to positions ≤ t only.
"""
from __future__ import annotations

import numpy

from .. import nn
from ..creation import arange
from ..errors import ShapeError
from ..nn import functional as F
from ..tensor import Tensor


def next_token_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy of logits (N, T, V) against the next tokens (N, T), in nats per token."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


class CharLSTM(nn.Module):
    """Embedding (V → ``embedding_dim``), an ``num_layers``-layer LSTM of ``hidden_size`` (batch first,
    ``dropout`` between layers), and a linear read-out to V logits.

    tokens (N, T) int64 → logits (N, T, V)."""

    def __init__(self, vocab_size: int, hidden_size: int = 256, num_layers: int = 1, embedding_dim: int = 64,
                 dropout: float = 0.0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens: Tensor) -> Tensor:
        hidden, _ = self.lstm(self.embedding(tokens))
        return self.head(hidden)

    def next_logits(self, tokens: Tensor, state=None) -> tuple:
        """The logits (V,) after ``tokens`` (1, t), continuing from ``state`` (the LSTM's (h, c), or None
        at the start) → (logits, the new state). Feed only the new tokens each call."""
        hidden, state = self.lstm(self.embedding(tokens), state)
        return self.head(hidden[0, -1]), state


class CharTransformer(nn.Module):
    """A small GPT: token and learned position embeddings (``d_model``), ``num_layers`` pre-norm causal
    blocks of ``nhead`` heads with a GELU feed-forward of 4·``d_model``, a final LayerNorm and a
    linear read-out. Sees at most ``context`` tokens.

    tokens (N, T) int64 with T ≤ context → logits (N, T, V)."""

    def __init__(self, vocab_size: int, d_model: int = 128, nhead: int = 4, num_layers: int = 2,
                 context: int = 128, dropout: float = 0.0):
        super().__init__()
        self.context = context
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=4 * d_model, dropout=dropout,
                                       activation="gelu", batch_first=True, norm_first=True)
            for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, tokens: Tensor) -> Tensor:
        length = tokens.shape[1]
        if length > self.context:
            raise ShapeError(f"CharTransformer: {length} tokens exceed its context of {self.context}")
        x = self.token_embedding(tokens) + self.position_embedding(arange(length))
        for block in self.blocks:
            x = block(x, is_causal=True)
        return self.head(self.norm(x))

    def next_logits(self, tokens: Tensor, state=None) -> tuple:
        """The logits (V,) after ``tokens`` (1, t) and the tokens before them (``state``: the last
        ``context`` − 1 tokens so far, or None) → (logits, the new state). No key-value cache: each call
        runs the visible window again, which is what a context this short affords."""
        window = tokens.numpy() if state is None else numpy.concatenate([state, tokens.numpy()], axis=1)
        window = window[:, -self.context:]
        logits = self(Tensor(window))
        return logits[0, -1], window[:, 1 - self.context:] if self.context > 1 else window[:, :0]
