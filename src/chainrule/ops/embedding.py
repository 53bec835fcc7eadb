"""Embedding lookup: rows of a weight matrix picked by integer indices."""
from __future__ import annotations

import numpy

from .. import backend
from ..backend import array_module
from ..errors import ShapeError
from ..tensor import Function, Tensor
from .registry import public, register
from .shape import GetItemBackward, add_at


@register("embedding")
class Embedding(Function):
    """y[...] = weight[indices[...]]; the row ``padding_idx``, if given, gets no gradient (PyTorch's
    padding row).

    indices: I (integers in [0, V)), weight: (V, D) → y: (*I, D).
    """

    def __init__(self, padding_idx: int | None = None):
        self.padding_idx = padding_idx

    saved_names = ("indices",)

    def forward(self, indices, weight):
        if weight.ndim != 2:
            raise ShapeError(f"embedding: expected weight (num_embeddings, embedding_dim), got {weight.shape}")
        if indices.dtype.kind not in "iu":
            raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype}")
        rows = weight.shape[0]
        if indices.size and (indices.min() < 0 or indices.max() >= rows):
            values = backend.to_numpy(indices)
            position = tuple(int(i) for i in numpy.argwhere((values < 0) | (values >= rows))[0])
            raise IndexError(
                f"embedding: index {values[position]} at position {position} is out of range "
                f"for {rows} embeddings (expected 0 ≤ index < {rows})"
            )
        self.save_for_backward(indices)
        self.weight_shape, self.dtype = weight.shape, weight.dtype
        return weight[indices]

    formula = "y = weight[indices] ⇒ dweight = zeros with dweight[indices[p]] += dy[p] for every position p"

    def backward(self, dy):
        (indices,) = self.saved_tensors
        d_weight = array_module(dy).zeros(self.weight_shape, dtype=self.dtype)
        add_at(d_weight, indices.reshape(-1), dy.reshape(-1, self.weight_shape[1]))
        if self.padding_idx is not None:
            d_weight[self.padding_idx] = 0
        return None, d_weight

    def backward_graph(self, dy):
        (indices,) = self.saved_tensors
        d_weight = GetItemBackward(self.weight_shape, indices.reshape(-1))(dy.reshape(-1, self.weight_shape[1]))
        if self.padding_idx is None:
            return None, d_weight
        learned = array_module(dy.data).ones((self.weight_shape[0], 1), dtype=dy.dtype)
        learned[self.padding_idx] = 0
        return None, d_weight * Tensor(learned)


@public()
def embedding(indices, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of weight (V, D) at integer indices I → (*I, D); row ``padding_idx`` learns nothing."""
    indices = indices if isinstance(indices, Tensor) else Tensor(array_module(weight.data).asarray(indices))
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return Embedding(padding_idx)(indices, weight)
