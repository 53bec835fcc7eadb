"""Verification cases for the ops of ``chainrule/ops/pooling.py``."""
import numpy as np

import chainrule as cr
from oracle import case, distinct, randn, torch_functional, torch_gradient_of

# -- max_pool2d ------------------------------------------------------------------
# Distinct values (0.1 apart) keep finite differences off the kinks where the argmax changes.
_POOLS = [
    ((2, 3, 6, 6), dict(kernel_size=2)),
    ((2, 2, 7, 5), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 5, 7), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1))),
    ((2, 1, 5, 5), dict(kernel_size=3, stride=1)),                 # overlapping windows
    ((2, 2, 1, 1), dict(kernel_size=1)),                            # size-1 image
    ((1, 2, 3, 5), dict(kernel_size=(3, 2), stride=(3, 1))),
]
for x_shape, kwargs in _POOLS:
    case("max_pool2d", lambda x, k=kwargs: cr.max_pool2d(x, **k), lambda x, k=kwargs: torch_functional().max_pool2d(x, **k),
         distinct(*x_shape), id=f"max_pool2d({x_shape},{kwargs})")
case("max_pool2d", lambda x: cr.max_pool2d(x, 3, stride=2, padding=1),
     lambda x: torch_functional().max_pool2d(x, 3, stride=2, padding=1),
     distinct(2, 2, 5, 5) - 10.0, id="max_pool2d(all negative, padding never wins)")
case("max_pool2d", lambda x: cr.max_pool2d(x.permute(2, 3, 0, 1), 2),
     lambda x: torch_functional().max_pool2d(x.permute(2, 3, 0, 1), 2), distinct(4, 6, 2, 3), id="max_pool2d(non-contiguous input)")

# -- avg_pool2d ------------------------------------------------------------------
for x_shape, kwargs in _POOLS:
    case("avg_pool2d", lambda x, k=kwargs: cr.avg_pool2d(x, **k), lambda x, k=kwargs: torch_functional().avg_pool2d(x, **k),
         randn(*x_shape), id=f"avg_pool2d({x_shape},{kwargs})")
for x_shape, kwargs in _POOLS[1:3]:
    kwargs = dict(kwargs, count_include_pad=False)
    case("avg_pool2d", lambda x, k=kwargs: cr.avg_pool2d(x, **k), lambda x, k=kwargs: torch_functional().avg_pool2d(x, **k),
         randn(*x_shape), id=f"avg_pool2d({x_shape},{kwargs})")
case("avg_pool2d", lambda x: cr.avg_pool2d(x.permute(2, 3, 0, 1), 3, stride=2, padding=1),
     lambda x: torch_functional().avg_pool2d(x.permute(2, 3, 0, 1), 3, stride=2, padding=1),
     randn(5, 6, 2, 3), id="avg_pool2d(non-contiguous input)")

# -- adaptive_avg_pool2d ---------------------------------------------------------
for x_shape, size in [((2, 3, 4, 5), 1), ((2, 3, 1, 1), (1, 1)), ((1, 2, 7, 3), 1)]:
    case("adaptive_avg_pool2d", lambda x, s=size: cr.adaptive_avg_pool2d(x, s),
         lambda x, s=size: torch_functional().adaptive_avg_pool2d(x, s), randn(*x_shape), id=f"adaptive_avg_pool2d({x_shape})")

# -- integer inputs: padding holds the dtype's smallest value, never a float -inf --------------------------
for dtype in (np.int64, np.int32, np.uint8):
    _image = (np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5) * 7 % 23 - (0 if dtype == np.uint8 else 11)).astype(dtype)
    case("max_pool2d", lambda i, w: cr.max_pool2d(cr.tensor(i), 2, stride=2, padding=1).astype(w.dtype) * w,
         lambda i, w: torch_functional().max_pool2d(i, 2, stride=2, padding=1).to(w.dtype) * w, _image, randn(3, 3),
         id=f"max_pool2d({np.dtype(dtype).name},padding)")

# -- avg_pool2d_backward: avg_pool2d's gradient as an op (linear in dy), against torch's gradient ------------------
for x_shape, kwargs in [_POOLS[1], _POOLS[2], _POOLS[3], (_POOLS[1][0], dict(_POOLS[1][1], count_include_pad=False))]:
    pool = cr.ops.pooling.AvgPool2d(**kwargs)
    with cr.no_grad():
        dy_shape = cr.avg_pool2d(cr.zeros(*x_shape), **kwargs).shape
    case("avg_pool2d_backward",
         lambda dy, s=pool.settings(), shape=x_shape: cr.ops.pooling.AvgPool2dBackward(s, shape, (0, 1, 2, 3))(dy),
         torch_gradient_of(lambda x, k=kwargs: torch_functional().avg_pool2d(x, **k), x_shape),
         randn(*dy_shape), id=f"avg_pool2d_backward({x_shape},{kwargs})")

# -- max_pool1d, avg_pool1d (the 2-d ops on a height of 1) -----------------------------------------------
case("max_pool2d", lambda x: cr.max_pool1d(x, 3, 2, 1), lambda x: torch_functional().max_pool1d(x, 3, 2, 1),
     distinct(2, 3, 8), id="max_pool1d")
case("avg_pool2d", lambda x: cr.avg_pool1d(x, 2), lambda x: torch_functional().avg_pool1d(x, 2), randn(2, 3, 7),
     id="avg_pool1d")
case("avg_pool2d", lambda x: cr.avg_pool1d(x, 3, 1, 1, count_include_pad=False),
     lambda x: torch_functional().avg_pool1d(x, 3, 1, 1, count_include_pad=False), randn(1, 2, 5),
     id="avg_pool1d(count_include_pad=False)")
