"""Scaled dot-product attention as one op, its backward derived by hand (PyTorch's
``F.scaled_dot_product_attention``).

Shapes: q: (..., L, E), k: (..., S, E), v: (..., S, E_v), batch axes broadcast;
attn_mask: broadcast to (..., L, S), boolean (True takes part) or floating (added to the scores)
→ y: (..., L, E_v).
"""
from __future__ import annotations

import math

import numpy

from ..backend import array_module
from ..errors import ShapeError
from ..random import default_generator
from ..tensor import Function, Tensor, recomputed_gradients
from .dtypes import check_same_dtype
from .elementwise import where
from .registry import public, register


def _masked_softmax(scores, xp):
    """Softmax over the last axis where −∞ marks what takes no part; a row with nothing taking part
    gives zeros, not NaN (as PyTorch's attention)."""
    top = scores.max(axis=-1, keepdims=True) if scores.shape[-1] else xp.zeros(scores.shape[:-1] + (1,), scores.dtype)
    top = xp.where(xp.isfinite(top), top, 0)
    e = xp.exp(scores - top)
    total = e.sum(axis=-1, keepdims=True)
    return xp.where(total > 0, e / xp.where(total > 0, total, 1), 0).astype(scores.dtype, copy=False)


@register("scaled_dot_product_attention")
class ScaledDotProductAttention(Function):
    """y = dropout(softmax(q·kᵀ·scale + mask))·v, row by row over the keys.

    The mask is a setting (boolean: −∞ where False), or with ``float_mask`` a fourth input whose
    gradient is the scores' (it is added to them). ``keep`` is dropout's mask, drawn in forward.
    """

    def __init__(self, scale: float, bool_mask=None, float_mask: bool = False, dropout_p: float = 0.0,
                 generator=None):
        if not 0.0 <= dropout_p < 1.0:
            raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1), got {dropout_p}")
        self.scale, self.bool_mask, self.float_mask = float(scale), bool_mask, float_mask
        self.dropout_p, self.generator = float(dropout_p), generator

    saved_names = ("q", "k", "v", "p", "keep")

    def forward(self, q, k, v, mask=None):
        if q.ndim < 2 or k.ndim < 2 or v.ndim < 2 or q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
            raise ShapeError(f"scaled_dot_product_attention: expected q (..., L, E), k (..., S, E), v (..., S, Ev), "
                             f"got {q.shape}, {k.shape}, {v.shape}")
        check_same_dtype("scaled_dot_product_attention", q, k, v, *(() if mask is None else (mask,)))
        xp = array_module(q)
        scores = (q @ k.swapaxes(-1, -2)) * q.dtype.type(self.scale)
        if mask is not None:
            scores = scores + mask
        if self.bool_mask is not None:
            scores = xp.where(self.bool_mask, scores, -numpy.inf)
        p = _masked_softmax(scores, xp)
        keep = None
        if self.dropout_p:
            keep = (xp.asarray((self.generator or default_generator()).random(p.shape)) >= self.dropout_p)
            keep = keep.astype(p.dtype) / (1.0 - self.dropout_p)
        self.save_for_backward(q, k, v, p, keep)
        return (p if keep is None else p * keep) @ v

    formula = ("y = P·v, P = softmax(q·kᵀ·scale + mask) per row (dropout D) "
               "⇒ dv = (P·D)ᵀ·dy, dq = G·k·scale, dk = Gᵀ·q·scale, dmask = G "
               "(G = P·(Π − Σ_row Π·P), Π = dy·vᵀ·D: softmax's Jacobian, row by row)")

    def backward(self, dy):
        # softmax's Jacobian row by row: dS = P ⊙ (dP − rowsum(dP ⊙ P)); masked entries have P = 0, so dS = 0 there
        q, k, v, p, keep = self.saved_tensors
        dropped = p if keep is None else p * keep
        dv = dropped.swapaxes(-1, -2) @ dy
        dp = dy @ v.swapaxes(-1, -2)
        if keep is not None:
            dp = dp * keep
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
        scale = q.dtype.type(self.scale)
        dq, dk = (ds @ k) * scale, (ds.swapaxes(-1, -2) @ q) * scale
        return (dq, dk, dv, ds) if self.float_mask else (dq, dk, dv)

    def backward_graph(self, dy):
        return recomputed_gradients(self, self._on_graph, dy)

    def _on_graph(self, q, k, v, mask=None):
        """The same attention composed of ops (matmul, where, softmax, mul), on the graph."""
        # −∞ (the boolean mask's, or a float mask's) becomes −1e30: the same weights, and a row with
        # nothing to attend to gives finite uniform weights, zeroed, instead of 0/0 on the graph
        _, _, _, p, keep = self.saved_tensors
        xp = array_module(p)
        scores = (q @ k.transpose(-1, -2)) * self.scale
        if mask is not None:
            scores = scores + mask
        if self.bool_mask is not None:
            scores = where(Tensor(self.bool_mask), scores, -1e30)
        scores = where(Tensor(xp.isfinite(scores.data)), scores, -1e30)
        taking_part = Tensor((p.sum(axis=-1, keepdims=True) > 0).astype(p.dtype))
        weights = scores.softmax(-1) * taking_part
        return (weights if keep is None else weights * Tensor(keep)) @ v


@public()
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None, generator=None) -> Tensor:
    """softmax(q·kᵀ·scale + mask)·v, PyTorch's ``F.scaled_dot_product_attention``: ``scale`` 1/√E by
    default, ``attn_mask`` boolean (True takes part) or floating (added), ``is_causal`` masks the
    future; a query row that may attend to nothing gives zeros (and zero gradients), as PyTorch."""
    xp = array_module(query.data)
    length, source = query.shape[-2], key.shape[-2]
    bool_mask = None
    float_mask = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both (as PyTorch)")
        bool_mask = xp.tri(length, source, dtype=bool)
    elif attn_mask is not None:
        data = attn_mask.data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
        if data.dtype.kind == "b":
            bool_mask = data
        else:
            float_mask = attn_mask if isinstance(attn_mask, Tensor) else Tensor(data.astype(query.dtype))
    op = ScaledDotProductAttention(1.0 / math.sqrt(query.shape[-1]) if scale is None else scale, bool_mask,
                                   float_mask is not None, dropout_p, generator)
    return op(query, key, value) if float_mask is None else op(query, key, value, float_mask)
