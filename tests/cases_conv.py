"""Verification cases for convolution and pooling: conv2d, max_pool2d, avg_pool2d,
adaptive_avg_pool2d, dropout2d — over strides, paddings, dilations, groups, odd and
non-square sizes, size-1 images, repeated inputs and non-contiguous inputs."""
import numpy as np

import chainrule as cr
from oracle import case, distinct, randn, torch


def _F():
    return torch().nn.functional


# -- conv2d ----------------------------------------------------------------------
# (x shape, weight shape, with bias, keyword arguments shared by both libraries)
_CONVS = [
    ((2, 3, 5, 5), (4, 3, 3, 3), True, {}),
    ((2, 3, 7, 5), (4, 3, 3, 3), True, dict(stride=2, padding=1)),
    ((1, 2, 6, 7), (3, 2, 2, 3), False, dict(stride=(2, 1), padding=(1, 0))),
    ((2, 2, 7, 6), (3, 2, 3, 2), True, dict(dilation=2, padding=2)),
    ((1, 2, 8, 7), (2, 2, 3, 3), True, dict(stride=(1, 2), padding=(0, 1), dilation=(2, 1))),
    ((2, 4, 6, 5), (6, 2, 3, 3), True, dict(groups=2, padding=1)),
    ((2, 3, 5, 4), (6, 1, 3, 3), False, dict(groups=3, stride=2, padding=1)),  # depthwise, 2 filters each
    ((3, 2, 1, 1), (4, 2, 1, 1), True, {}),                                    # size-1 image
    ((2, 2, 1, 1), (3, 2, 3, 3), True, dict(padding=1)),                       # all but the centre is padding
    ((2, 3, 5, 6), (2, 3, 1, 1), True, dict(stride=2)),
    ((1, 1, 4, 4), (2, 1, 2, 2), False, dict(padding=3)),                      # padding wider than the kernel
]
for x_shape, w_shape, with_bias, kwargs in _CONVS:
    tag = f"{x_shape}*{w_shape}{'+b' if with_bias else ''},{kwargs}"
    arrays = (randn(*x_shape), randn(*w_shape)) + ((randn(w_shape[0]),) if with_bias else ())
    case("conv2d", lambda *a, k=kwargs: cr.conv2d(*a, **k), lambda *a, k=kwargs: _F().conv2d(*a, **k),
         *arrays, id=f"conv2d({tag})")
case("conv2d", lambda x: cr.conv2d(x, x), lambda x: _F().conv2d(x, x), randn(2, 2, 3, 3), id="conv2d(x,x)")
case("conv2d", lambda x, w1, w2: cr.conv2d(cr.avg_pool2d(cr.conv2d(x, w1, padding=1), 2) * 2.0, w2, padding=1),
     lambda x, w1, w2: _F().conv2d(_F().avg_pool2d(_F().conv2d(x, w1, padding=1), 2) * 2.0, w2, padding=1),
     randn(2, 1, 6, 6), randn(3, 1, 3, 3), randn(2, 3, 3, 3), id="conv2d(chain: conv, avg_pool, mul, conv)")
case("conv2d", lambda x, w: cr.conv2d(x.permute(2, 3, 0, 1), w, padding=1),
     lambda x, w: _F().conv2d(x.permute(2, 3, 0, 1), w, padding=1),
     randn(4, 5, 2, 3), randn(2, 3, 3, 3), id="conv2d(non-contiguous input)")

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
    case("max_pool2d", lambda x, k=kwargs: cr.max_pool2d(x, **k), lambda x, k=kwargs: _F().max_pool2d(x, **k),
         distinct(*x_shape), id=f"max_pool2d({x_shape},{kwargs})")
case("max_pool2d", lambda x: cr.max_pool2d(x, 3, stride=2, padding=1),
     lambda x: _F().max_pool2d(x, 3, stride=2, padding=1),
     distinct(2, 2, 5, 5) - 10.0, id="max_pool2d(all negative, padding never wins)")
case("max_pool2d", lambda x: cr.max_pool2d(x.permute(2, 3, 0, 1), 2),
     lambda x: _F().max_pool2d(x.permute(2, 3, 0, 1), 2), distinct(4, 6, 2, 3), id="max_pool2d(non-contiguous input)")

# -- avg_pool2d ------------------------------------------------------------------
for x_shape, kwargs in _POOLS:
    case("avg_pool2d", lambda x, k=kwargs: cr.avg_pool2d(x, **k), lambda x, k=kwargs: _F().avg_pool2d(x, **k),
         randn(*x_shape), id=f"avg_pool2d({x_shape},{kwargs})")
for x_shape, kwargs in _POOLS[1:3]:
    kwargs = dict(kwargs, count_include_pad=False)
    case("avg_pool2d", lambda x, k=kwargs: cr.avg_pool2d(x, **k), lambda x, k=kwargs: _F().avg_pool2d(x, **k),
         randn(*x_shape), id=f"avg_pool2d({x_shape},{kwargs})")
case("avg_pool2d", lambda x: cr.avg_pool2d(x.permute(2, 3, 0, 1), 3, stride=2, padding=1),
     lambda x: _F().avg_pool2d(x.permute(2, 3, 0, 1), 3, stride=2, padding=1),
     randn(5, 6, 2, 3), id="avg_pool2d(non-contiguous input)")

# -- adaptive_avg_pool2d ---------------------------------------------------------
for x_shape, size in [((2, 3, 4, 5), 1), ((2, 3, 1, 1), (1, 1)), ((1, 2, 7, 3), 1)]:
    case("adaptive_avg_pool2d", lambda x, s=size: cr.adaptive_avg_pool2d(x, s),
         lambda x, s=size: _F().adaptive_avg_pool2d(x, s), randn(*x_shape), id=f"adaptive_avg_pool2d({x_shape})")

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

# -- integer inputs: padding holds the dtype's smallest value, never a float -inf --------------------------
for dtype in (np.int64, np.int32, np.uint8):
    _image = (np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5) * 7 % 23 - (0 if dtype == np.uint8 else 11)).astype(dtype)
    case("max_pool2d", lambda i, w: cr.max_pool2d(cr.tensor(i), 2, stride=2, padding=1).astype(w.dtype) * w,
         lambda i, w: _F().max_pool2d(i, 2, stride=2, padding=1).to(w.dtype) * w, _image, randn(3, 3),
         id=f"max_pool2d({np.dtype(dtype).name},padding)")
