"""Verification cases for the ops of ``chainrule/ops/losses.py``."""
import numpy as np

import chainrule as cr
from oracle import away_from_zero, case, randn, rng, torch, torch_functional

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

# -- cross_entropy in full: probability targets, class weights, ignore_index, smoothing, together -------
_cw = np.array([0.5, 2.0, 1.0, 1.5])
_labels5 = np.array([1, 0, 3, 3, 2])
_with_ignored = np.array([1, -100, 3, 0, 3])
_probabilities = rng.dirichlet(np.ones(4), 5)
for tag, kwargs, target in [
    ("weight", dict(weight=_cw), _labels5),
    ("ignore_index", dict(ignore_index=-100), _with_ignored),
    ("ignore_index=2", dict(ignore_index=2), np.array([2, 0, 1, 2, 3])),
    ("weight+ignore+smoothing", dict(weight=_cw, ignore_index=-100, label_smoothing=0.2), _with_ignored),
]:
    for reduction in ("mean", "sum", "none"):
        case("cross_entropy",
             lambda z, t, k=kwargs, r=reduction: cr.nn.functional.cross_entropy(
                 z, t, **{**k, **({"weight": cr.tensor(k["weight"], dtype=z.dtype).to(z.device)} if "weight" in k else {})},
                 reduction=r),
             lambda z, t, k=kwargs, r=reduction: torch_functional().cross_entropy(
                 z, t, **{**k, **({"weight": torch().tensor(k["weight"])} if "weight" in k else {})}, reduction=r),
             randn(5, 4), target, id=f"cross_entropy({tag},{reduction})")
for tag, kwargs in [("", {}), ("weight", dict(weight=_cw)), ("smoothing", dict(label_smoothing=0.3))]:
    case("cross_entropy",
         lambda z, p, k=kwargs: cr.nn.functional.cross_entropy(
             z, p, **{**k, **({"weight": cr.tensor(k["weight"], dtype=z.dtype).to(z.device)} if "weight" in k else {})}),
         lambda z, p, k=kwargs: torch_functional().cross_entropy(
             z, p, **{**k, **({"weight": torch().tensor(k["weight"])} if "weight" in k else {})}),
         randn(5, 4), _probabilities, id=f"cross_entropy(probabilities{',' + tag if tag else ''})")
case("cross_entropy", lambda z, t: cr.nn.functional.cross_entropy(z, t, reduction="sum"),
     lambda z, t: torch_functional().cross_entropy(z, t, reduction="sum"), randn(2, 3), np.array([-100, -100]),
     id="cross_entropy(all ignored, sum)")

# -- nll_loss with weight and ignore_index ------------------------------------------------------------
for reduction in ("mean", "sum", "none"):
    case("nll_loss", lambda lp, t, r=reduction: cr.nll_loss(lp, t, r, weight=cr.tensor(_cw, dtype=lp.dtype).to(lp.device)),
         lambda lp, t, r=reduction: torch_functional().nll_loss(lp, t, weight=torch().tensor(_cw), reduction=r),
         randn(5, 4), _with_ignored, id=f"nll_loss(weight+ignore,{reduction})")

# -- l1, huber, smooth l1, binary cross-entropy on probabilities, kl_div -------------------------------
_d_away = away_from_zero(3, 4)   # the pred − target of L1 and Huber stay off their kinks (0, ±δ)
for reduction in ("mean", "sum", "none"):
    case("l1_loss", lambda p, t, r=reduction: cr.l1_loss(p, t, r),
         lambda p, t, r=reduction: torch_functional().l1_loss(p, t, reduction=r), _d_away + 0.3, np.full((3, 4), 0.3),
         id=f"l1_loss({reduction})")
    case("huber_loss", lambda p, t, r=reduction: cr.huber_loss(p, t, r, delta=0.7),
         lambda p, t, r=reduction: torch_functional().huber_loss(p, t, reduction=r, delta=0.7),
         np.array([[0.2, -0.4, 1.5, -2.0], [0.05, 0.9, -0.6, 3.0]]), np.zeros((2, 4)), id=f"huber_loss({reduction})")
    case("huber_loss", lambda p, t, r=reduction: cr.smooth_l1_loss(p, t, r, beta=0.5),
         lambda p, t, r=reduction: torch_functional().smooth_l1_loss(p, t, reduction=r, beta=0.5),
         np.array([[0.2, -0.4, 1.5, -2.0], [0.05, 0.9, -0.3, 3.0]]), np.zeros((2, 4)), id=f"smooth_l1_loss({reduction})")
    case("binary_cross_entropy", lambda p, t, r=reduction: cr.binary_cross_entropy(p, t, r),
         lambda p, t, r=reduction: torch_functional().binary_cross_entropy(p, t, reduction=r),
         rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4)), id=f"binary_cross_entropy({reduction})")
def _distributions(rows: int):
    """Rows of probabilities, each at least 0.05: finite differences of log t stay accurate."""
    p = rng.uniform(0.2, 1.0, (rows, 4))
    return p / p.sum(axis=1, keepdims=True)


for reduction in ("mean", "batchmean", "sum", "none"):
    case("kl_div", lambda q, p, r=reduction: cr.kl_div(q, p, r),
         lambda q, p, r=reduction: torch_functional().kl_div(q, p, reduction=r),
         np.log(_distributions(3)), _distributions(3), id=f"kl_div({reduction})")
case("kl_div", lambda q, p: cr.kl_div(q, p, "batchmean", log_target=True),
     lambda q, p: torch_functional().kl_div(q, p, reduction="batchmean", log_target=True),
     np.log(_distributions(3)), np.log(_distributions(3)), id="kl_div(log_target)")
case("l1_loss", lambda p: cr.l1_loss(p * p, p), lambda p: torch_functional().l1_loss(p * p, p), away_from_zero(5) + 2.0,
     id="l1_loss(x², x)")
