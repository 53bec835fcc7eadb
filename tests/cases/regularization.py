"""Verification cases for the ops of ``chainrule/ops/regularization.py``."""
import numpy as np

import chainrule as cr
from oracle import case, randn, torch

# -- dropout ---------------------------------------------------------------------
# The oracle rebuilds the mask by hand: keep where u ≥ p for u from the same seeded generator.


def _kept(shape, p, seed):
    return torch().tensor(np.random.default_rng(seed).random(shape) >= p, dtype=torch().float64)


for p, shape in [(0.3, (4, 5)), (0.5, (2, 3, 4)), (1.0, (3, 2))]:
    scale = 1.0 / (1.0 - p) if p < 1 else 0.0
    case("dropout", lambda x, p=p: cr.ops.dropout(x, p, generator=np.random.default_rng(7)),
         lambda x, p=p, scale=scale: x * _kept(x.shape, p, 7) * scale,
         randn(*shape), id=f"dropout(p={p})")

# -- dropout2d -------------------------------------------------------------------
# The oracle rebuilds the channel mask by hand: keep (n, c) where u ≥ p, u from the same seeded generator.


def _kept_channels(shape, p, seed):
    keep = np.random.default_rng(seed).random(shape[:2]) >= p
    return torch().tensor(keep, dtype=torch().float64)[:, :, None, None]


for p, shape in [(0.3, (4, 5, 2, 3)), (0.5, (3, 2, 1, 1)), (1.0, (2, 3, 2, 2))]:
    scale = 1.0 / (1.0 - p) if p < 1 else 0.0
    case("dropout2d", lambda x, p=p: cr.dropout2d(x, p, generator=np.random.default_rng(11)),
         lambda x, p=p, scale=scale: x * _kept_channels(x.shape, p, 11) * scale,
         randn(*shape), id=f"dropout2d(p={p},{shape})")
