"""The one compiled piece: chainrule's kernels (src/chainrule/_kernels.c): the fused optimizer
update, the batch-of-one outer product and softmax cross-entropy.

optional=True: where no C compiler is found the install still succeeds and the
callers fall back to their NumPy path (the same results, up to the last bit of
cross-entropy's exp and log, with more passes over memory).
"""
import sys

from setuptools import Extension, setup

# Every rounding where NumPy's ufunc chain rounds: no fused multiply-add contraction. Floating-point
# exceptions are not observed (-fno-trapping-math: values and roundings stay), so a loop with a
# condition, as ReLU's backward dy·[y > 0], may compute both arms and become vector code instead of a
# branch per element that random signs mispredict (12× slower).
flags = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off", "-fno-trapping-math"]

setup(
    ext_modules=[
        Extension(
            "chainrule._kernels",
            sources=["src/chainrule/_kernels.c"],
            extra_compile_args=flags,
            libraries=[] if sys.platform == "win32" else ["m"],  # expf, logf
            optional=True,
        )
    ]
)
