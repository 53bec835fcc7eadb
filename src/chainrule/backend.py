"""The array module in use: NumPy by default, CuPy when asked for.

Every op reaches its array functions through ``backend.xp`` so that one switch,
``chainrule.backend.use("cupy")``, moves the whole library to the GPU.
"""
from __future__ import annotations

import numpy

xp = numpy
"""The active array module (``numpy`` or ``cupy``)."""

DEFAULT_DTYPE = numpy.dtype(numpy.float32)


def use(name: str) -> None:
    """Select the array module: ``"numpy"`` or ``"cupy"``."""
    global xp
    if name == "numpy":
        xp = numpy
    elif name == "cupy":
        try:
            import cupy
        except ImportError as exc:
            raise ImportError("backend 'cupy' needs CuPy installed (pip install cupy-cuda12x)") from exc
        xp = cupy
    else:
        raise ValueError(f"unknown backend {name!r}: expected 'numpy' or 'cupy'")


def name() -> str:
    """The name of the active array module."""
    return xp.__name__


def to_numpy(array):
    """A NumPy copy (or view) of an array from any backend."""
    if isinstance(array, numpy.ndarray):
        return array
    if hasattr(array, "get"):
        return array.get()
    return numpy.asarray(array)
