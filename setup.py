"""The one compiled piece: chainrule's kernels (src/chainrule/_kernels.c): the fused optimizer
update and the batch-of-one outer product.

optional=True: where no C compiler is found the install still succeeds and the
optimizers fall back to their NumPy path (same results, more passes over memory).
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
            optional=True,
        )
    ]
)
