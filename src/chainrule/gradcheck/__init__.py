"""Gradient checking that says what is wrong, not only that something is.

    report = cr.gradcheck(MyFunction, [x, w])     # raises cr.GradcheckError on failure
    print(report)                                  # one row per gradient, never a matrix

Pre-flight checks (determinism, in-place writes, accumulation, linearity in the
upstream gradient, stale caches, dtypes) run first; then every gradient is compared
with float64 finite differences; then each failure is diagnosed (sign flipped,
scaled by a named dimension, transposed, missing broadcast sum, ...). See
:func:`gradcheck` and docs/tutorials/debugging-a-backward-pass.md.
"""
from .check import gradcheck
from .report import (
           Diagnosis,
           ElementError,
           GradcheckError,
           GradcheckReport,
           GradientResult,
           Jacobians,
)

__all__ = [
           "Diagnosis",
           "ElementError",
           "GradcheckError",
           "GradcheckReport",
           "GradientResult",
           "Jacobians",
           "gradcheck",
]
