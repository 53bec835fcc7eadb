"""Verification cases for the ops of ``chainrule/ops/conv.py``."""
import chainrule as cr
from oracle import case, randn, torch_functional, torch_gradient_of

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
    case("conv2d", lambda *a, k=kwargs: cr.conv2d(*a, **k), lambda *a, k=kwargs: torch_functional().conv2d(*a, **k),
         *arrays, id=f"conv2d({tag})")
case("conv2d", lambda x: cr.conv2d(x, x), lambda x: torch_functional().conv2d(x, x), randn(2, 2, 3, 3), id="conv2d(x,x)")
case("conv2d", lambda x, w1, w2: cr.conv2d(cr.avg_pool2d(cr.conv2d(x, w1, padding=1), 2) * 2.0, w2, padding=1),
     lambda x, w1, w2: torch_functional().conv2d(torch_functional().avg_pool2d(torch_functional().conv2d(x, w1, padding=1), 2) * 2.0, w2, padding=1),
     randn(2, 1, 6, 6), randn(3, 1, 3, 3), randn(2, 3, 3, 3), id="conv2d(chain: conv, avg_pool, mul, conv)")
case("conv2d", lambda x, w: cr.conv2d(x.permute(2, 3, 0, 1), w, padding=1),
     lambda x, w: torch_functional().conv2d(x.permute(2, 3, 0, 1), w, padding=1),
     randn(4, 5, 2, 3), randn(2, 3, 3, 3), id="conv2d(non-contiguous input)")

# -- conv2d_input_grad and conv2d_weight_grad: conv2d's gradients as ops (bilinear), against torch's gradients -----
for x_shape, w_shape, _, kwargs in [_CONVS[1], _CONVS[3], _CONVS[5], _CONVS[6], _CONVS[8]]:
    tag = f"{x_shape}*{w_shape},{kwargs}"
    settings = cr.ops.Conv2d(**kwargs).settings()
    with cr.no_grad():
        dy = randn(*cr.conv2d(cr.zeros(*x_shape, dtype="float64"), cr.zeros(*w_shape, dtype="float64"), **kwargs).shape)
    case("conv2d_input_grad", lambda dy, w, s=settings, shape=x_shape: cr.ops.conv.Conv2dInputGrad(s, shape)(dy, w),
         torch_gradient_of(lambda x, w, k=kwargs: torch_functional().conv2d(x, w, **k), x_shape),
         dy, randn(*w_shape), id=f"conv2d_input_grad({tag})")
    case("conv2d_weight_grad", lambda x, dy, s=settings, shape=w_shape: cr.ops.conv.Conv2dWeightGrad(s, shape)(x, dy),
         lambda x, dy, k=kwargs, shape=w_shape: torch_gradient_of(
             lambda w, x: torch_functional().conv2d(x, w, **k), shape)(dy, x),
         randn(*x_shape), dy, id=f"conv2d_weight_grad({tag})")

# -- conv1d (conv2d on a height of 1), conv_transpose2d (conv2d's input gradient) -----------------------
for x_shape, w_shape, kwargs in [((2, 3, 9), (4, 3, 3), dict(stride=2, padding=1)),
                                  ((1, 4, 7), (6, 2, 2), dict(groups=2, dilation=2))]:
    case("conv2d", lambda x, w, b, k=kwargs: cr.conv1d(x, w, b, **k),
         lambda x, w, b, k=kwargs: torch_functional().conv1d(x, w, b, **k), randn(*x_shape), randn(*w_shape),
         randn(w_shape[0]), id=f"conv1d({x_shape}*{w_shape},{kwargs})")
for x_shape, w_shape, kwargs in [((2, 3, 4, 5), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
                                  ((1, 4, 3, 3), (4, 3, 2, 3), dict(groups=2, stride=(1, 2), dilation=(2, 1))),
                                  ((2, 2, 3, 2), (2, 5, 1, 1), {})]:
    case("conv2d_input_grad", lambda x, w, b, k=kwargs: cr.conv_transpose2d(x, w, b, **k),
         lambda x, w, b, k=kwargs: torch_functional().conv_transpose2d(x, w, b, **k), randn(*x_shape), randn(*w_shape),
         randn(w_shape[1] * kwargs.get("groups", 1)), id=f"conv_transpose2d({x_shape}*{w_shape},{kwargs})")
