"""chainrule's compiled loops (``_kernels.c``), each standing in for NumPy code with the
same roundings (exp and log aside, see below).

- ``sgd``: NumPy runs ``b ← μ·b + g, θ ← θ − η·b`` as four passes over memory, each a
  separate ufunc call; the kernel makes one.
- ``outer``: the weight gradient dyᵀ·x of ``ops.Linear`` at batch size 1, which BLAS
  computes as a general matrix product with an inner dimension of 1, three times slower.
- ``relu`` and ``relu_backward``: ``ops.ReLU``, one pass instead of two ufunc calls.
- ``max_pool`` and ``max_pool_backward``: ``ops.MaxPool2d``, one pass over the input forward, one
  per kernel offset backward, instead of four per offset.
- ``batch_norm`` and ``batch_norm_backward``: ``ops.BatchNorm`` in training, channel row by
  channel row while the row is in cache; sums in double, so the last bits may differ from NumPy's.
- ``cross_entropy`` and ``cross_entropy_backward``: ``ops.SoftmaxCrossEntropy``, one pass
  over each row instead of a dozen NumPy calls, which at small batches cost more than
  the arithmetic. The backward gives NumPy's bits; the forward takes exp and log from
  libm, which may round the last bit differently from NumPy's vectorized exp and log.

On CuPy arrays ``sgd`` and ``relu_backward`` run their GPU twins (gpu_kernels.py).
Each wrapper below returns its result, or None (False for ``sgd``) where no kernel
applies: not built, not a NumPy array, not C-contiguous, another dtype. The caller's
NumPy code, the readable reference, runs then; the fast path is one line beside it.

The extension is built at install when a C compiler is present; without it,
:data:`AVAILABLE` is False and every wrapper returns None.
"""
from __future__ import annotations

import math

import numpy

from . import gpu_kernels

try:
    from . import _kernels
except ImportError:  # installed without a C compiler
    _kernels = None

AVAILABLE = _kernels is not None
"""Whether the extension was built."""

DOES_NOT_FIT = (TypeError, BufferError, ValueError)
"""What a kernel raises, before touching memory, for arrays it cannot take: not a
float32/float64 buffer (CuPy, float16), not C-contiguous, read-only where it writes, or
of mismatched dtypes or sizes. The caller then takes its NumPy path."""


_REDUCTION_CODES = {"none": 0, "sum": 1, "mean": 2}


def _on_gpu(array) -> bool:
    return type(array).__module__.startswith("cupy")


def _fits(array) -> bool:
    """Whether it is worth allocating an output for a kernel on ``array``: the kernels are built
    and it is a C-contiguous NumPy array. Dtypes, sizes and the other arrays are the kernels'
    own check (they raise one of DOES_NOT_FIT before writing)."""
    return AVAILABLE and type(array) is numpy.ndarray and array.flags.c_contiguous


def _memory_order(array) -> tuple:
    """Its axes from the outermost in memory to the innermost (by decreasing stride)."""
    return tuple(int(axis) for axis in numpy.argsort([-stride for stride in array.strides], kind="stable"))


def _dense(order: tuple, *arrays) -> list | None:
    """The arrays transposed to ``order``, if each is then C-contiguous (one dense block laid out
    in that order: a batch-last image is, as a plain NCHW one); else None. An elementwise kernel
    runs on those views as on flat memory."""
    views = [array.transpose(order) for array in arrays]
    return views if all(view.flags.c_contiguous for view in views) else None


def sgd(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first) -> bool:
    """One SGD update of ``param`` (and ``buffer``, None when momentum is 0) in place; ``first``
    writes the buffer instead of reading it (see :class:`~chainrule.optim.SGD`). False, with
    nothing written, where no kernel applies. CuPy arrays go to gpu_kernels.sgd."""
    if type(param) is not numpy.ndarray:
        if not _on_gpu(param):
            return False
        gpu_kernels.sgd(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first)
        return True
    if not AVAILABLE:
        return False
    try:
        _kernels.sgd(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first)
    except DOES_NOT_FIT:
        return False
    return True


def outer(a, b):
    """``out[i, j] = a[i]·b[j]`` for a (1, M) and b (1, N) of one float dtype: the weight gradient
    dyᵀ·x at batch size 1, which BLAS computes as a general product three times slower; or None."""
    if not _fits(a):
        return None
    out = numpy.empty((a.size, b.size), a.dtype)
    try:
        _kernels.outer(a, b, out)
    except DOES_NOT_FIT:
        return None
    return out


def relu(x):
    """``maximum(x, 0)`` as NumPy computes it (NaN kept, −0 → +0) in one pass, laid out as x (any
    dense layout); or None."""
    if not AVAILABLE or type(x) is not numpy.ndarray:
        return None
    y = numpy.empty_like(x)  # x's layout, when x is dense
    views = [x, y] if x.flags.c_contiguous else _dense(_memory_order(x), x, y)
    if views is None:
        return None
    try:
        _kernels.relu(*views)
    except DOES_NOT_FIT:
        return None
    return y


def relu_backward(y, dy):
    """``dy·[y > 0]`` as NumPy computes it (an infinite or NaN ``dy`` gives NaN where ``y`` ≤ 0)
    in one pass; or None. CuPy arrays go to gpu_kernels.relu_backward."""
    if dy.shape != y.shape:
        return None
    if not AVAILABLE or type(y) is not numpy.ndarray:
        return gpu_kernels.relu_backward(y, dy) if _on_gpu(y) else None
    dx = numpy.empty_like(y)
    views = [y, dy, dx] if y.flags.c_contiguous else _dense(_memory_order(y), y, dy, dx)
    if views is None:
        return None
    try:
        _kernels.relu_backward(*views)
    except DOES_NOT_FIT:
        return None
    return dx


def _image_layout(image) -> tuple | None:
    """(order, A, B) for an (N, C, H, W) array laid out in memory as (A, H, W, B): one dense block
    whose memory order keeps H and W next to each other (NCHW: A = N·C, B = 1; batch-last CHWN:
    A = C, B = N), ``order`` its axes outermost first; or None."""
    order = _memory_order(image)
    h_at = order.index(2)
    if h_at == 3 or order[h_at + 1] != 3 or _dense(order, image) is None:
        return None
    outside = math.prod(image.shape[axis] for axis in order[:h_at])
    inside = math.prod(image.shape[axis] for axis in order[h_at + 2:])
    return order, outside, inside


def _empty_in_order(shape: tuple, dtype, order: tuple):
    """A new array of ``shape`` laid out in memory with axes ``order`` outermost first."""
    return numpy.empty(tuple(shape[axis] for axis in order), dtype).transpose(numpy.argsort(order))


def _as_image_rows(array, layout: tuple):
    """``array`` (N, C, h, w), laid out as ``layout`` says, as its (A, h, w, B) memory."""
    order, outside, inside = layout
    return array.transpose(order).reshape(outside, *array.shape[2:], inside)


def max_pool(x, kernel: tuple, stride: tuple, padding: tuple, out_hw: tuple):
    """(y, offsets): max pooling of x (N, C, H, W) over kernel-sized windows moved by stride over
    the padded input, and each window's kernel offset of its maximum (uint8), both laid out as x;
    NumPy's bits (the first maximum, or the last NaN, wins). None where no kernel applies."""
    if not AVAILABLE or type(x) is not numpy.ndarray:
        return None
    layout = _image_layout(x)
    if layout is None:
        return None
    order = layout[0]
    y, offsets = (_empty_in_order(x.shape[:2] + tuple(out_hw), dtype, order) for dtype in (x.dtype, numpy.uint8))
    try:
        _kernels.max_pool(_as_image_rows(x, layout), _as_image_rows(y, layout), _as_image_rows(offsets, layout),
                          *kernel, *stride, *padding)
    except DOES_NOT_FIT:
        return None
    return y, offsets


def max_pool_backward(dy, offsets, x_shape: tuple, kernel: tuple, stride: tuple, padding: tuple):
    """Max pooling's dx (N, C, H, W) in the input's memory order: each of dy's (N, C, H_out, W_out)
    values added to the pixel at its window's kernel offset in ``offsets`` (uint8, laid out as the
    input, as :func:`max_pool` or the NumPy path made them); or None."""
    if not AVAILABLE or type(dy) is not numpy.ndarray or type(offsets) is not numpy.ndarray:
        return None
    layout = _image_layout(offsets)
    if layout is None:
        return None
    order = layout[0]
    # dy may be a view with gaps (a convolution's dx cut out of its padded array): one copy, then
    # the kernel's single pass, beats NumPy's four strided passes.
    dense = numpy.ascontiguousarray(dy.transpose(order)).transpose(numpy.argsort(order))
    dx = _empty_in_order(x_shape, dy.dtype, order)
    try:
        _kernels.max_pool_backward(_as_image_rows(dense, layout), _as_image_rows(offsets, layout),
                                   _as_image_rows(dx, layout), *kernel, *stride, *padding)
    except DOES_NOT_FIT:
        return None
    return dx


def batch_norm(rows, affine: tuple, eps: float):
    """Batch normalisation in training of ``rows`` (C, M), one channel a row, with the optional
    (γ,) or (γ, β): (y, x̂, mean, var, inv_std), y being x̂ itself without γ; or None."""
    if not _fits(rows) or rows.ndim != 2 or rows.shape[1] == 0:
        return None
    channels = rows.shape[0]
    x_hat = numpy.empty_like(rows)
    y = numpy.empty_like(rows) if affine else None
    mean, var, inv_std = (numpy.empty(channels, rows.dtype) for _ in range(3))
    gamma, beta = (*affine, None, None)[:2]
    try:
        _kernels.batch_norm(rows, gamma, beta, eps, x_hat, y, mean, var, inv_std)
    except DOES_NOT_FIT:
        return None
    return (x_hat if y is None else y), x_hat, mean, var, inv_std


def batch_norm_backward(dy_rows, x_hat, a, training: bool, need_dx: bool):
    """(dx rows or None, dβ, dγ) of batch normalisation, a = inv_std·γ per channel; or None."""
    if not _fits(dy_rows) or dy_rows.ndim != 2 or dy_rows.shape[1] == 0:
        return None
    dx = numpy.empty_like(dy_rows) if need_dx else None
    d_beta, d_gamma = numpy.empty(len(a), dy_rows.dtype), numpy.empty(len(a), dy_rows.dtype)
    try:
        _kernels.batch_norm_backward(dy_rows, x_hat, a, training, dx, d_beta, d_gamma)
    except DOES_NOT_FIT:
        return None
    return dx, d_beta, d_gamma


def cross_entropy(logits, labels, smoothing: float, reduction: str):
    """(softmax, loss) of softmax cross-entropy with label smoothing, the losses summed in double
    and rounded once; or None, also for a label out of range (the caller's check reports it).
    Only on short rows or small batches: past them NumPy's vectorized exp beats libm's."""
    n, c = logits.shape
    if not (c <= 16 or n * c <= 2048) or not _fits(logits):
        return None
    p = numpy.empty_like(logits)
    out = numpy.empty(logits.shape[:1] if reduction == "none" else (), logits.dtype)
    try:
        _kernels.cross_entropy(logits, labels, c, smoothing, _REDUCTION_CODES[reduction], p, out)
    except DOES_NOT_FIT:
        return None
    return p, out


def cross_entropy_backward(p, labels, smoothing: float, dy, divisor: int):
    """dz = (p − q)·dy / divisor, q the smoothed one-hot target, ``dy`` of one element or one per
    row, ``divisor`` 0 for none; or None."""
    if not _fits(p):
        return None
    dz = numpy.empty_like(p)
    try:
        _kernels.cross_entropy_backward(p, labels, p.shape[1], smoothing, dy, divisor, dz)
    except DOES_NOT_FIT:
        return None
    return dz
