"""The one compiled piece: chainrule's kernels (src/chainrule/_kernels.c): the fused optimizer
update, the batch-of-one outer product and softmax cross-entropy.

optional=True: where no C compiler is found the install still succeeds and the
callers fall back to their NumPy path (the same results, up to the last bit of
cross-entropy's exp and log, with more passes over memory).
"""
import sys

from setuptools import Extension, setup

# Every rounding where NumPy's ufunc chain rounds: no fused multiply-add contraction.
flags = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off"]

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
