"""Embedding lookup: rows of a weight matrix picked by integer indices."""
from __future__ import annotations

import numpy

from .. import backend
from ..errors import ShapeError
from ..tensor import Function
from .registry import register


@register("embedding")
class Embedding(Function):
    """y[...] = weight[indices[...]].

    indices: I (integers in [0, V)), weight: (V, D) → y: (*I, D).
    """

    formula = "dweight = zeros with dweight[indices[p]] += dy[p] for every position p"

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
        self.indices, self.weight_shape, self.dtype = indices, weight.shape, weight.dtype
        return weight[indices]

    def backward(self, dy):
        # y = W[idx]  ⇒  dW[r] = Σ_{positions p with idx_p = r} dy_p   (np.add.at sums repeated indices)
        xp = backend.xp
        d_weight = xp.zeros(self.weight_shape, dtype=self.dtype)
        xp.add.at(d_weight, self.indices.reshape(-1), dy.reshape(-1, self.weight_shape[1]))
        return None, d_weight
