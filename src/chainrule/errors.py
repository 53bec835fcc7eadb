"""The errors chainrule raises on purpose, each with a message that says what to fix.

They sit at the bottom of the package so every layer can raise them.
"""
from __future__ import annotations


class ShapeError(ValueError):
    """A layer or op got an input of the wrong shape.

    The message names the layer or op, the expected shape and the actual one, e.g.
    ``Linear(784 → 512): expected input (..., 784), got (128, 785)``.
    """


class DataFormatError(ValueError):
    """A data file is not what its format promises (names the file and the problem)."""


class CheckpointError(ValueError):
    """A checkpoint file is truncated, corrupt, unsafe, or does not fit the model."""
