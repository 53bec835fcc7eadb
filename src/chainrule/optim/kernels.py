"""The compiled fused updates (``_kernels.c``), and when they apply.

NumPy runs ``b ← μ·b + g, θ ← θ − η·b`` as four passes over memory, each a separate
ufunc call; the kernel makes one pass with the same roundings, so both paths give the
same bits. The extension is built at install when a C compiler is present; without
it, :data:`AVAILABLE` is False and the optimizers use their NumPy path.
"""
from __future__ import annotations

try:
    from . import _kernels
except ImportError:  # installed without a C compiler
    _kernels = None

AVAILABLE = _kernels is not None
"""Whether the extension was built."""

DOES_NOT_FIT = (TypeError, BufferError, ValueError)
"""What the kernel raises, before touching memory, for arrays it cannot update: not a
float32/float64 buffer (CuPy, float16), not C-contiguous or read-only, or not of the
parameter's dtype and size. The optimizer then takes its NumPy path."""


sgd = _kernels.sgd if AVAILABLE else None
"""``sgd(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first)``:
one SGD update of ``param`` (and ``buffer``, None when momentum is 0) in place; ``first``
writes the buffer instead of reading it. See :class:`~chainrule.optim.SGD`."""
