"""chainrule against PyTorch (and JAX, when installed) on this CPU, side by side.

    python -m benchmarks [mlp micro sweep limit] [--quick] [--reps N] [--threads N]

Every measurement runs each framework in its own subprocess, one repetition after
another in turn (A B A B ...), with the same thread count for every BLAS; tables
give medians and min–max, and ratios against PyTorch paired within a repetition.
See ``python -m benchmarks --help`` and the Performance section of the README.
"""
