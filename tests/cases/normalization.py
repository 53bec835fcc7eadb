"""Verification cases for the ops of ``chainrule/ops/normalization.py``."""
import chainrule as cr
from oracle import case, positive, randn, torch, torch_functional

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
         lambda x, w, b: torch_functional().batch_norm(x, *_torch_running(), w, b, training=True, momentum=0.2),
         randn(*x_shape) * 2 + 1, randn(3), randn(3), id=f"batch_norm(train,{tag})")
    case("batch_norm",
         lambda x, w, b: cr.ops.batch_norm(x, *_running(cr.backend.array_module(x.data)), w, b, training=False, eps=1e-3),
         lambda x, w, b: torch_functional().batch_norm(x, *_torch_running(), w, b, training=False, eps=1e-3),
         randn(*x_shape), randn(3), randn(3), id=f"batch_norm(eval,{tag})")
case("batch_norm", lambda x: cr.ops.batch_norm(x, training=True),
     lambda x: torch_functional().batch_norm(x, None, None, training=True), randn(5, 3) * 3, id="batch_norm(train,no affine,no stats)")
case("batch_norm", lambda x, w: cr.ops.batch_norm(x, weight=w, training=True),
     lambda x, w: torch_functional().batch_norm(x, None, None, weight=w, training=True), randn(2, 4, 3), randn(4),
     id="batch_norm(train,weight only,N=2)")
case("batch_norm", lambda x, b: cr.ops.batch_norm(x, bias=b, training=True),
     lambda x, b: torch_functional().batch_norm(x, None, None, bias=b, training=True), randn(4, 2), randn(2),
     id="batch_norm(train,bias only)", torch_second_order=False)  # torch's double backward needs a weight
case("batch_norm", lambda x: cr.ops.batch_norm(x * x, training=True),
     lambda x: torch_functional().batch_norm(x * x, None, None, training=True), randn(4, 3), id="batch_norm(x*x)")

# -- layer_norm ------------------------------------------------------------------
for x_shape, normalized in [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((3, 4), (3, 4)), ((2, 1, 6), (6,))]:
    tag = f"{x_shape}over{normalized}"
    case("layer_norm", lambda x, w, b, n=normalized: cr.ops.layer_norm(x, n, w, b),
         lambda x, w, b, n=normalized: torch_functional().layer_norm(x, n, w, b),
         randn(*x_shape) * 2 - 1, randn(*normalized), randn(*normalized), id=f"layer_norm({tag})")
case("layer_norm", lambda x: cr.ops.layer_norm(x, 4, eps=1e-2), lambda x: torch_functional().layer_norm(x, (4,), eps=1e-2),
     randn(3, 4), id="layer_norm(no affine)")
case("layer_norm", lambda x, w: cr.ops.layer_norm(x, 4, w), lambda x, w: torch_functional().layer_norm(x, (4,), w),
     randn(3, 4), randn(4), id="layer_norm(weight only)")

# -- group_norm, instance_norm (layer_norm on each group) -------------------------------------------------
case("layer_norm", lambda x, w, b: cr.group_norm(x, 2, w, b), lambda x, w, b: torch_functional().group_norm(x, 2, w, b),
     randn(3, 4, 2, 3), randn(4), randn(4), id="group_norm(2 groups)")
case("layer_norm", lambda x: cr.group_norm(x, 1), lambda x: torch_functional().group_norm(x, 1), randn(2, 3, 5),
     id="group_norm(1 group, no affine)")
case("layer_norm", lambda x, w, b: cr.instance_norm(x, weight=w, bias=b),
     lambda x, w, b: torch_functional().instance_norm(x, weight=w, bias=b), randn(2, 3, 4, 4), randn(3), randn(3),
     id="instance_norm")
