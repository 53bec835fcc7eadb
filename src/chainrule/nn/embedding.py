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
    is (num_embeddings, embedding_dim), drawn from N(0, 1) as in PyTorch.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype=numpy.float32):
        super().__init__()
        self.num_embeddings = check_size("Embedding", "num_embeddings", num_embeddings, minimum=0)
        self.embedding_dim = check_size("Embedding", "embedding_dim", embedding_dim, minimum=0)
        self.weight = Parameter(backend.xp.empty((num_embeddings, embedding_dim), dtype=dtype))
        init.normal_(self.weight)

    def as_function(self):
        return EmbeddingOp(), (self.weight,)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
