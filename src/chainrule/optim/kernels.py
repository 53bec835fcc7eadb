"""The compiled fused updates (``_kernels.c``), and when they apply.

NumPy runs ``b ← μ·b + g, θ ← θ − η·b`` as four passes over memory, each a separate
ufunc call; the kernel makes one pass with the same roundings, so both paths give the
same bits. The extension is built at install when a C compiler is present; without
it, :data:`AVAILABLE` is False and the optimizers use their NumPy path.
"""
from __future__ import annotations

import numpy

try:
    from . import _kernels
except ImportError:  # installed without a C compiler
    _kernels = None

AVAILABLE = _kernels is not None
"""Whether the extension was built."""

_DTYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def fits(*arrays) -> bool:
    """Whether the kernel can update these arrays (None entries are skipped): NumPy,
    C-contiguous, and all float32 or all float64."""
    dtype = arrays[0].dtype
    if dtype not in _DTYPES:
        return False
    for array in arrays:
        if array is not None and (
            type(array) is not numpy.ndarray or array.dtype != dtype or not array.flags.c_contiguous
        ):
            return False
    return True


sgd = _kernels.sgd if AVAILABLE else None
"""``sgd(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first)``:
one SGD update of ``param`` (and ``buffer``, None when momentum is 0) in place; ``first``
writes the buffer instead of reading it. See :class:`~chainrule.optim.SGD`."""
