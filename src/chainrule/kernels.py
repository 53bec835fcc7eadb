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

The extension is built at install when a C compiler is present; without it,
:data:`AVAILABLE` is False and every caller takes its NumPy path.
"""
from __future__ import annotations

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


sgd = _kernels.sgd if AVAILABLE else None
"""``sgd(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first)``:
one SGD update of ``param`` (and ``buffer``, None when momentum is 0) in place; ``first``
writes the buffer instead of reading it. See :class:`~chainrule.optim.SGD`."""

outer = _kernels.outer if AVAILABLE else None
"""``outer(a, b, out)``: ``out[i, j] = a[i]·b[j]`` for C-contiguous ``a`` (M elements), ``b``
(N) and ``out`` (M×N elements), all float32 or all float64."""

relu = _kernels.relu if AVAILABLE else None
"""``relu(x, y)``: ``y = maximum(x, 0)`` as NumPy computes it (NaN kept, −0 → +0), for
C-contiguous ``x`` and ``y`` of one dtype and size."""

relu_backward = _kernels.relu_backward if AVAILABLE else None
"""``relu_backward(y, dy, dx)``: ``dx = dy·[y > 0]`` as NumPy computes it (an infinite or NaN
``dy`` gives NaN where ``y`` ≤ 0), for C-contiguous arrays of one dtype and size."""

cross_entropy = _kernels.cross_entropy if AVAILABLE else None
"""``cross_entropy(logits, labels, classes, smoothing, reduction, p, out)``: softmax
cross-entropy of C-contiguous ``logits`` (n×``classes``) against int64 ``labels`` (n), with
label smoothing ``smoothing``; writes the softmax into ``p`` (n×classes) and into ``out``
the n losses (``reduction`` 0) or their sum (1) or mean (2), summed in double and rounded
once. A label out of range raises ValueError before anything is written."""

cross_entropy_backward = _kernels.cross_entropy_backward if AVAILABLE else None
"""``cross_entropy_backward(p, labels, classes, smoothing, dy, divisor, dz)``: writes
dz = (p − q)·dy / divisor into ``dz`` (n×classes), q the smoothed one-hot target; ``dy`` has
one element or n (one per row); ``divisor`` 0 means none."""
