"""chainrule's fused passes on the GPU: CuPy elementwise kernels with the arithmetic of the
NumPy code they stand in for, operation by operation (compiled without fused multiply-adds,
so each product and sum rounds as NumPy's separate ufuncs round it).

- ``sgd``: the SGD update (weight decay, momentum, dampening, Nesterov, maximise) in one
  kernel launch per parameter, where the array-module path launches four to six.
- ``relu_backward``: ``dy·[y > 0]`` in one launch instead of two.

Each is compiled by CuPy at its first use; ``kernels.sgd`` and ``kernels.relu_backward``
call them for CuPy arrays. tests cannot run them without a GPU: ``scripts/gpu-check``
compares them with the array-module path bit for bit.
"""
from __future__ import annotations

import functools

_NO_FMA = ("--fmad=false",)

_DIRECTION = """
    T d = wd != (T)0 ? (maximize ? param * wd - grad : param * wd + grad) : (maximize ? -grad : grad);
"""


@functools.cache
def _sgd_kernels():
    import cupy

    plain = cupy.ElementwiseKernel(
        "T grad, T lr, T wd, int32 maximize", "T param",
        _DIRECTION + "param = param - d * lr;", "chainrule_sgd", options=_NO_FMA)
    with_momentum = cupy.ElementwiseKernel(
        "T grad, T lr, T wd, T mu, T keep, int32 damped, int32 nesterov, int32 maximize, int32 first",
        "T param, T buf",
        _DIRECTION + """
        T b = first ? d : (damped ? buf * mu + d * keep : buf * mu + d);
        buf = b;
        T update = nesterov ? b * mu + d : b;
        param = param - update * lr;
        """, "chainrule_sgd_momentum", options=_NO_FMA)
    return plain, with_momentum


def sgd(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first) -> None:
    """One SGD update of CuPy arrays in place, as optim.SGD's array-module path computes it."""
    plain, with_momentum = _sgd_kernels()
    t = param.dtype.type
    if buffer is None:
        plain(grad, t(lr), t(weight_decay), int(maximize), param)
    else:
        with_momentum(grad, t(lr), t(weight_decay), t(momentum), t(1.0 - dampening), int(dampening != 0),
                      int(nesterov), int(maximize), int(first), param, buffer)


@functools.cache
def _relu_backward_kernel():
    import cupy

    return cupy.ElementwiseKernel("T y, T dy", "T dx", "dx = dy * (T)(y > (T)0);", "chainrule_relu_backward")


def relu_backward(y, dy):
    """``dy·[y > 0]`` of CuPy arrays (NaN where dy is not finite and y ≤ 0, as NumPy's product)."""
    return _relu_backward_kernel()(y, dy)
