"""chainrule's compiled loops (``_kernels.c``), each standing in for NumPy code with the
same roundings (exp and log aside, see below).

- ``sgd``: NumPy runs ``b ← μ·b + g, θ ← θ − η·b`` as four passes over memory, each a
  separate ufunc call; the kernel makes one.
- ``outer``: the weight gradient dyᵀ·x of ``ops.Linear`` at batch size 1, which BLAS
  computes as a general matrix product with an inner dimension of 1, three times slower.
- ``relu`` and ``relu_backward``: ``ops.ReLU``, one pass instead of two ufunc calls.
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
    """``maximum(x, 0)`` as NumPy computes it (NaN kept, −0 → +0) in one pass; or None."""
    if not _fits(x):
        return None
    y = numpy.empty_like(x)
    try:
        _kernels.relu(x, y)
    except DOES_NOT_FIT:
        return None
    return y


def relu_backward(y, dy):
    """``dy·[y > 0]`` as NumPy computes it (an infinite or NaN ``dy`` gives NaN where ``y`` ≤ 0)
    in one pass; or None. CuPy arrays go to gpu_kernels.relu_backward."""
    if dy.shape != y.shape:
        return None
    if not _fits(y):
        return gpu_kernels.relu_backward(y, dy) if _on_gpu(y) else None
    dx = numpy.empty_like(y)
    try:
        _kernels.relu_backward(y, dy, dx)
    except DOES_NOT_FIT:
        return None
    return dx


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
