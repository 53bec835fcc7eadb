"""Classification metrics computed from predicted and true labels."""
from __future__ import annotations

import numpy


def confusion_matrix(predicted, actual, num_classes: int) -> numpy.ndarray:
    """counts[i, j] = how many samples of true class i were predicted as class j."""
    predicted = numpy.asarray(predicted, dtype=numpy.int64)
    actual = numpy.asarray(actual, dtype=numpy.int64)
    flat = numpy.bincount(actual * num_classes + predicted, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def accuracy_from_confusion(counts: numpy.ndarray) -> float:
    """Fraction of samples on the diagonal."""
    total = counts.sum()
    return float(numpy.trace(counts) / total) if total else float("nan")
