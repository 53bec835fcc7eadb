"""Verification cases for the ops of ``chainrule/ops/losses.py``."""
import numpy as np

import chainrule as cr
from oracle import case, randn, rng, torch, torch_functional

# -- softmax_cross_entropy, mse --------------------------------------------------------
_labels = np.array([0, 2, 1, 2, 3])
for reduction in ("mean", "sum", "none"):
    case("softmax_cross_entropy",
         lambda z, y, r=reduction: cr.softmax_cross_entropy(z, y, reduction=r),
         lambda z, y, r=reduction: torch().nn.functional.cross_entropy(z, y, reduction=r),
         randn(5, 4) * 3, _labels, id=f"softmax_cross_entropy({reduction})")
case("softmax_cross_entropy",
     lambda z, y: cr.softmax_cross_entropy(z, y, label_smoothing=0.1),
     lambda z, y: torch().nn.functional.cross_entropy(z, y, label_smoothing=0.1),
     randn(5, 4), _labels, id="softmax_cross_entropy(smoothing)")
for reduction in ("mean", "sum", "none"):
    case("mse", lambda p, t, r=reduction: cr.mse(p, t, reduction=r),
         lambda p, t, r=reduction: torch().nn.functional.mse_loss(p, t, reduction=r),
         randn(4, 3), randn(4, 3), id=f"mse({reduction})")
case("mse", lambda x: cr.mse(x, x * 0.5), lambda x: torch().nn.functional.mse_loss(x, x * 0.5), randn(6),
     id="mse(x,x/2)")

# -- losses ----------------------------------------------------------------------
_labels = np.array([1, 0, 3, 3, 2])
for reduction in ("mean", "sum", "none"):
    case("nll_loss", lambda p, y, r=reduction: cr.ops.nll_loss(p, y, reduction=r),
         lambda p, y, r=reduction: torch_functional().nll_loss(p, y, reduction=r),
         randn(5, 4), _labels, id=f"nll_loss({reduction})")
    case("binary_cross_entropy_with_logits",
         lambda z, t, r=reduction: cr.ops.binary_cross_entropy_with_logits(z, t, reduction=r),
         lambda z, t, r=reduction: torch_functional().binary_cross_entropy_with_logits(z, t, reduction=r),
         randn(4, 3) * 3, rng.uniform(0, 1, (4, 3)), id=f"bce_with_logits({reduction})")
case("nll_loss", lambda z, y: cr.ops.nll_loss(cr.log_softmax(z, axis=1), y),
     lambda z, y: torch_functional().nll_loss(torch_functional().log_softmax(z, dim=1), y), randn(5, 4), _labels, id="nll_loss(log_softmax)")
case("binary_cross_entropy_with_logits",
     lambda z: cr.ops.binary_cross_entropy_with_logits(z, np.array([0.0, 1.0, 1.0, 0.0, 1.0])),
     lambda z: torch_functional().binary_cross_entropy_with_logits(z, torch().tensor([0.0, 1.0, 1.0, 0.0, 1.0], dtype=z.dtype)),
     np.array([-40.0, -3.0, 0.5, 35.0, 60.0]), id="bce_with_logits(large logits)")
