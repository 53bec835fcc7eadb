"""Attention layers: MultiheadAttention, as ``torch.nn.MultiheadAttention`` (PyTorch's packed
``in_proj_weight``, its masks' meanings and its initialisation, so that a torch state_dict loads and
gives the same outputs), built on ``F.scaled_dot_product_attention`` (one hand-derived op) and
linear maps; TransformerEncoderLayer and TransformerEncoder built on it."""
from __future__ import annotations

import copy
import math

import numpy

from .. import backend
from ..errors import ShapeError
from ..ops import functional as ops
from ..tensor import Tensor
from . import init
from .checks import check_size
from .container import ModuleList
from .linear import Linear
from .module import Module
from .normalization import LayerNorm
from .parameter import Parameter


class MultiheadAttention(Module):
    """Attention of ``num_heads`` heads over ``embed_dim`` features.

    query (L, N, E), key and value (S, N, E), or batch first with ``batch_first`` → (output (L, N, E),
    weights (N, L, S) averaged over the heads, or (N, heads, L, S), or None without ``need_weights``).
    As PyTorch: a boolean ``attn_mask`` (L, S) or (N·heads, L, S) is True where attention is *not*
    allowed, a float one is added to the scores; ``key_padding_mask`` (N, S) is True at padding.
    Parameters ``in_proj_weight`` (3E, E), ``in_proj_bias`` (3E,), ``out_proj.weight``, ``out_proj.bias``.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, dtype=numpy.float32):
        super().__init__()
        self.embed_dim = check_size("MultiheadAttention", "embed_dim", embed_dim)
        self.num_heads = check_size("MultiheadAttention", "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        self.dropout, self.batch_first = dropout, batch_first
        self.in_proj_weight = Parameter(backend.xp.empty((3 * embed_dim, embed_dim), dtype=dtype))
        init.xavier_uniform_(self.in_proj_weight)
        self.in_proj_bias = Parameter(backend.xp.zeros(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if bias:
            self.out_proj.bias.data[...] = 0

    def _heads(self, x: Tensor, part: int) -> Tensor:
        """x (N, T, E) projected by the ``part``-th third of in_proj and split: (N, heads, T, E/heads)."""
        e = self.embed_dim
        weight = self.in_proj_weight[part * e:(part + 1) * e]
        bias = None if self.in_proj_bias is None else self.in_proj_bias[part * e:(part + 1) * e]
        n, t = x.shape[:2]
        return ops.linear(x, weight, bias).reshape(n, t, self.num_heads, e // self.num_heads).transpose(1, 2)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False) -> tuple:
        label = f"MultiheadAttention({self.embed_dim}, heads={self.num_heads})"
        if query.ndim != 3 or query.shape[-1] != self.embed_dim or key.shape != value.shape:
            raise ShapeError(f"{label}: expected query (L, N, {self.embed_dim}) and key, value (S, N, {self.embed_dim}) "
                             f"(batch first with batch_first), got {query.shape}, {key.shape}, {value.shape}")
        if not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        n, length, source = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = self._heads(query, 0), self._heads(key, 1), self._heads(value, 2)
        allowed, added = self._masks(attn_mask, key_padding_mask, is_causal, n, length, source, q)
        dropout = self.dropout if self.training else 0.0
        if need_weights or added is not None:
            mask = added
            if allowed is not None:
                blocked = Tensor(backend.array_module(q.data).where(allowed, 0.0, -numpy.inf).astype(q.dtype))
                mask = blocked if added is None else added + blocked
        if need_weights:
            scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
            if mask is not None:
                scores = scores + mask
            weights = scores.softmax(-1)
            attended = ops.dropout(weights, dropout) @ v if dropout else weights @ v
        else:
            weights = None
            attended = ops.scaled_dot_product_attention(q, k, v, attn_mask=allowed if added is None else mask,
                                                        dropout_p=dropout)
        output = self.out_proj(attended.transpose(1, 2).reshape(n, length, self.embed_dim))
        if not self.batch_first:
            output = output.transpose(0, 1)
        if weights is not None and average_attn_weights:
            weights = weights.mean(1)
        return output, weights

    def _masks(self, attn_mask, key_padding_mask, is_causal: bool, n: int, length: int, source: int,
               like: Tensor) -> tuple:
        """(a boolean array, broadcastable to (N, heads, L, S), True where attending is allowed, or None;
        a float mask Tensor to add to the scores, or None). A causal mask alone stays (L, S)."""
        xp = backend.array_module(like.data)
        blocked, added = None, None

        def block(more):
            return more if blocked is None else blocked | more

        if is_causal:
            blocked = ~xp.tri(length, source, dtype=bool)
        if attn_mask is not None:
            data = attn_mask.data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
            shaped = data.reshape(n, self.num_heads, length, source) if data.ndim == 3 else data
            if data.dtype.kind == "b":
                blocked = block(shaped)
            else:
                added = attn_mask.reshape(shaped.shape) if isinstance(attn_mask, Tensor) else Tensor(
                    shaped.astype(like.dtype))
        if key_padding_mask is not None:
            pad = key_padding_mask.data if isinstance(key_padding_mask, Tensor) else xp.asarray(key_padding_mask)
            blocked = block(pad.astype(bool)[:, None, None, :])
        if blocked is None or not blocked.any():
            return None, added
        return ~blocked, added

    def extra_repr(self) -> str:
        return f"{self.embed_dim}, num_heads={self.num_heads}" + (", batch_first=True" if self.batch_first else "")


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual connection and a LayerNorm,
    as ``torch.nn.TransformerEncoderLayer``: after each block (``norm_first=False``, the default) or
    before it (pre-norm). src (S, N, E), or (N, S, E) with ``batch_first`` → the same shape.
    Submodules ``self_attn``, ``linear1``, ``linear2``, ``norm1``, ``norm2`` (PyTorch's names)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, dtype=numpy.float32):
        super().__init__()
        if activation not in ("relu", "gelu"):
            raise ValueError(f"TransformerEncoderLayer: activation must be 'relu' or 'gelu', got {activation!r}")
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout_p, self.activation, self.norm_first = dropout, activation, norm_first

    def _dropout(self, x: Tensor) -> Tensor:
        return ops.dropout(x, self.dropout_p) if self.training and self.dropout_p else x

    def _attention(self, x: Tensor, mask, padding, is_causal: bool) -> Tensor:
        out, _ = self.self_attn(x, x, x, key_padding_mask=padding, need_weights=False, attn_mask=mask,
                                is_causal=is_causal)
        return self._dropout(out)

    def _feed_forward(self, x: Tensor) -> Tensor:
        hidden = self.linear1(x)
        hidden = hidden.relu() if self.activation == "relu" else hidden.gelu()
        return self._dropout(self.linear2(self._dropout(hidden)))

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None, is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` applied in turn, then ``norm`` if given, as
    ``torch.nn.TransformerEncoder`` (submodules ``layers.0``, ``layers.1``, …, ``norm``)."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None):
        super().__init__()
        self.layers = ModuleList(copy.deepcopy(encoder_layer) for _ in range(num_layers))
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask=None, src_key_padding_mask=None, is_causal: bool = False) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, mask, src_key_padding_mask, is_causal)
        return x if self.norm is None else self.norm(x)
