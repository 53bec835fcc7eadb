"""Verification cases for the ops of ``chainrule/ops/embedding.py``."""
import numpy as np

import chainrule as cr
from oracle import case, randn, torch_functional

# -- embedding -------------------------------------------------------------------
_indices = np.array([[0, 3, 3], [5, 0, 3]])  # repeated rows: their gradients must add up
case("embedding", lambda i, W: cr.ops.embedding(i, W), lambda i, W: torch_functional().embedding(i, W),
     _indices, randn(6, 4), id="embedding(repeated)")
case("embedding", lambda i, W: cr.ops.embedding(i, W), lambda i, W: torch_functional().embedding(i, W),
     np.array(2), randn(4, 3), id="embedding(scalar index)")

# -- padding_idx: that row's gradient is 0, PyTorch's convention and not a derivative, so torch is the
# oracle where the row is used; where it is not, finite differences check the other rows too.
case("embedding", lambda i, w: cr.embedding(i, w, padding_idx=1),
     lambda i, w: torch_functional().embedding(i, w, padding_idx=1), np.array([[1, 0, 2], [1, 1, 3]]), randn(4, 3),
     id="embedding(padding_idx)", finite_differences=False)
case("embedding", lambda i, w: cr.embedding(i, w, padding_idx=-1),
     lambda i, w: torch_functional().embedding(i, w, padding_idx=-1), np.array([3, 0, 3]), randn(4, 2),
     id="embedding(padding_idx=-1)", finite_differences=False)
case("embedding", lambda i, w: cr.embedding(i, w, padding_idx=3),
     lambda i, w: torch_functional().embedding(i, w, padding_idx=3), np.array([2, 0, 2]), randn(4, 2),
     id="embedding(padding_idx unused)")
