"""The errors chainrule raises on purpose, each with a message that says what to fix.

They sit at the bottom of the package so every layer can raise them.
"""
from __future__ import annotations


class ShapeError(ValueError):
    """A layer or op got an input of the wrong shape.

    The message names the layer or op, the expected shape and the actual one, e.g.
    ``Linear(784 → 512): expected input (..., 784), got (128, 785)``.
    """


class DeviceUnavailable(RuntimeError):
    """A device was asked for that this machine cannot give: ``"cuda"`` without CuPy or a GPU,
    or a name no device has."""


class DataFormatError(ValueError):
    """A data file is not what its format promises (names the file and the problem)."""


class CheckpointError(ValueError):
    """A checkpoint file is truncated, corrupt, unsafe, or does not fit the model."""


class AnomalyError(FloatingPointError):
    """Under ``detect_anomaly()``: an op's forward output or backward gradient holds NaN or ±inf.

    The message names the op, its input shapes and the user's line that called it;
    ``op`` (the Function's name), ``phase`` ("forward" or "backward") and ``source``
    ("file:line", or None when no caller outside chainrule was found) say the same
    to a program.
    """

    def __init__(self, message: str, op: str, phase: str, source: str | None):
        super().__init__(message)
        self.op = op
        self.phase = phase
        self.source = source
