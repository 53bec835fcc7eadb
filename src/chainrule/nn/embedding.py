"""Embedding: a lookup table of learned vectors."""
from __future__ import annotations

import numpy

from .. import backend
from ..ops.embedding import Embedding as EmbeddingOp
from . import init
from .checks import check_size
from .module import Module
from .parameter import Parameter


class Embedding(Module):
    """Row i of ``weight`` for each integer index i.

    indices: I (integers in [0, num_embeddings)) → (*I, embedding_dim). ``weight``
    is (num_embeddings, embedding_dim), drawn from N(0, 1) as in PyTorch; the row
    ``padding_idx``, if given, starts at zero and gets no gradient.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype=numpy.float32):
        super().__init__()
        self.num_embeddings = check_size("Embedding", "num_embeddings", num_embeddings, minimum=0)
        self.embedding_dim = check_size("Embedding", "embedding_dim", embedding_dim, minimum=0)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for {num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(backend.xp.empty((num_embeddings, embedding_dim), dtype=dtype))
        init.normal_(self.weight)
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def as_function(self):
        return EmbeddingOp(self.padding_idx), (self.weight,)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
