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
