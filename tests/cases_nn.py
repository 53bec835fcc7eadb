"""Verification cases for the ops behind chainrule.nn: batch_norm, layer_norm, dropout,
embedding, nll_loss and binary_cross_entropy_with_logits."""
import numpy as np

import chainrule as cr
from oracle import case, positive, randn, rng, torch


def _F():
    return torch().nn.functional


# -- batch_norm ------------------------------------------------------------------
# The running statistics are rebuilt on every call: each evaluation of the case (finite
# differences call it many times) must see the same constants.
_RUNNING_MEAN, _RUNNING_VAR = randn(3) * 0.5, positive(3)


def _running(module):
    return module.asarray(_RUNNING_MEAN.copy()), module.asarray(_RUNNING_VAR.copy())


def _torch_running():
    return torch().tensor(_RUNNING_MEAN.copy()), torch().tensor(_RUNNING_VAR.copy())


for x_shape in [(6, 3), (4, 3, 5), (2, 3, 2, 3)]:
    tag = "x".join(map(str, x_shape))
    case("batch_norm",
         lambda x, w, b: cr.ops.batch_norm(x, *_running(cr.backend.array_module(x.data)), w, b, training=True, momentum=0.2),
         lambda x, w, b: _F().batch_norm(x, *_torch_running(), w, b, training=True, momentum=0.2),
         randn(*x_shape) * 2 + 1, randn(3), randn(3), id=f"batch_norm(train,{tag})")
    case("batch_norm",
         lambda x, w, b: cr.ops.batch_norm(x, *_running(cr.backend.array_module(x.data)), w, b, training=False, eps=1e-3),
         lambda x, w, b: _F().batch_norm(x, *_torch_running(), w, b, training=False, eps=1e-3),
         randn(*x_shape), randn(3), randn(3), id=f"batch_norm(eval,{tag})")
case("batch_norm", lambda x: cr.ops.batch_norm(x, training=True),
     lambda x: _F().batch_norm(x, None, None, training=True), randn(5, 3) * 3, id="batch_norm(train,no affine,no stats)")
case("batch_norm", lambda x, w: cr.ops.batch_norm(x, weight=w, training=True),
     lambda x, w: _F().batch_norm(x, None, None, weight=w, training=True), randn(2, 4, 3), randn(4),
     id="batch_norm(train,weight only,N=2)")
case("batch_norm", lambda x, b: cr.ops.batch_norm(x, bias=b, training=True),
     lambda x, b: _F().batch_norm(x, None, None, bias=b, training=True), randn(4, 2), randn(2),
     id="batch_norm(train,bias only)")
case("batch_norm", lambda x: cr.ops.batch_norm(x * x, training=True),
     lambda x: _F().batch_norm(x * x, None, None, training=True), randn(4, 3), id="batch_norm(x*x)")

# -- layer_norm ------------------------------------------------------------------
for x_shape, normalized in [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((3, 4), (3, 4)), ((2, 1, 6), (6,))]:
    tag = f"{x_shape}over{normalized}"
    case("layer_norm", lambda x, w, b, n=normalized: cr.ops.layer_norm(x, n, w, b),
         lambda x, w, b, n=normalized: _F().layer_norm(x, n, w, b),
         randn(*x_shape) * 2 - 1, randn(*normalized), randn(*normalized), id=f"layer_norm({tag})")
case("layer_norm", lambda x: cr.ops.layer_norm(x, 4, eps=1e-2), lambda x: _F().layer_norm(x, (4,), eps=1e-2),
     randn(3, 4), id="layer_norm(no affine)")
case("layer_norm", lambda x, w: cr.ops.layer_norm(x, 4, w), lambda x, w: _F().layer_norm(x, (4,), w),
     randn(3, 4), randn(4), id="layer_norm(weight only)")

# -- dropout ---------------------------------------------------------------------
# The oracle rebuilds the mask by hand: keep where u ≥ p for u from the same seeded generator.


def _kept(shape, p, seed):
    return torch().tensor(np.random.default_rng(seed).random(shape) >= p, dtype=torch().float64)


for p, shape in [(0.3, (4, 5)), (0.5, (2, 3, 4)), (1.0, (3, 2))]:
    scale = 1.0 / (1.0 - p) if p < 1 else 0.0
    case("dropout", lambda x, p=p: cr.ops.dropout(x, p, generator=np.random.default_rng(7)),
         lambda x, p=p, scale=scale: x * _kept(x.shape, p, 7) * scale,
         randn(*shape), id=f"dropout(p={p})")

# -- embedding -------------------------------------------------------------------
_indices = np.array([[0, 3, 3], [5, 0, 3]])  # repeated rows: their gradients must add up
case("embedding", lambda i, W: cr.ops.embedding(i, W), lambda i, W: _F().embedding(i, W),
     _indices, randn(6, 4), id="embedding(repeated)")
case("embedding", lambda i, W: cr.ops.embedding(i, W), lambda i, W: _F().embedding(i, W),
     np.array(2), randn(4, 3), id="embedding(scalar index)")

# -- losses ----------------------------------------------------------------------
_labels = np.array([1, 0, 3, 3, 2])
for reduction in ("mean", "sum", "none"):
    case("nll_loss", lambda p, y, r=reduction: cr.ops.nll_loss(p, y, reduction=r),
         lambda p, y, r=reduction: _F().nll_loss(p, y, reduction=r),
         randn(5, 4), _labels, id=f"nll_loss({reduction})")
    case("binary_cross_entropy_with_logits",
         lambda z, t, r=reduction: cr.ops.binary_cross_entropy_with_logits(z, t, reduction=r),
         lambda z, t, r=reduction: _F().binary_cross_entropy_with_logits(z, t, reduction=r),
         randn(4, 3) * 3, rng.uniform(0, 1, (4, 3)), id=f"bce_with_logits({reduction})")
case("nll_loss", lambda z, y: cr.ops.nll_loss(cr.log_softmax(z, axis=1), y),
     lambda z, y: _F().nll_loss(_F().log_softmax(z, dim=1), y), randn(5, 4), _labels, id="nll_loss(log_softmax)")
case("binary_cross_entropy_with_logits",
     lambda z: cr.ops.binary_cross_entropy_with_logits(z, np.array([0.0, 1.0, 1.0, 0.0, 1.0])),
     lambda z: _F().binary_cross_entropy_with_logits(z, torch().tensor([0.0, 1.0, 1.0, 0.0, 1.0], dtype=z.dtype)),
     np.array([-40.0, -3.0, 0.5, 35.0, 60.0]), id="bce_with_logits(large logits)")
