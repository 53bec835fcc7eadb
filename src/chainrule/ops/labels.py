"""The class-label check that every classification loss runs before using its labels."""
from __future__ import annotations

import numpy

from .. import backend


def check_class_labels(op: str, labels, num_classes: int) -> None:
    """Raise unless ``labels`` are integers in [0, num_classes).

    The error names the first offending label and its position, so that a bad
    batch is found without a debugger.
    """
    if labels.dtype.kind not in "iu":
        values = backend.to_numpy(labels).reshape(-1)
        if values.dtype.kind == "f":
            fractional = numpy.flatnonzero(values != numpy.round(values))
            position = int(fractional[0]) if fractional.size else 0
        else:
            position = 0
        example = f" ({values[position].item()} at position {position})" if values.size else ""
        raise TypeError(f"{op}: class labels must be integers, got dtype {labels.dtype}{example}")
    # One reduction instead of min and max: seen as unsigned, a negative label is huge.
    if labels.size == 0 or labels.view(labels.dtype.str.replace("i", "u")).max() < num_classes:
        return
    values = backend.to_numpy(labels).reshape(-1)
    position = int(numpy.flatnonzero((values < 0) | (values >= num_classes))[0])
    raise ValueError(
        f"{op}: class label {values[position]} at position {position} is out of range "
        f"for {num_classes} classes (expected 0 ≤ label < {num_classes})"
    )
