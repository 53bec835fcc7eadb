"""Batch transforms: each takes an array whose first axis is the batch and returns one.

They run once per batch inside a DataLoader, on the whole batch at once.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy

FASHION_MNIST_MEAN = 0.2860405969887955
FASHION_MNIST_STD = 0.35302424451492254
"""Mean and standard deviation of every pixel of the Fashion-MNIST training set
scaled to [0, 1] (47,040,000 values, float64, population std), computed by chainrule
from Debian's dataset-fashion-mnist files; tests/test_data_fashion_mnist_real.py
recomputes them."""

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
"""The MNIST training-set pixel mean and std in [0, 1] as published in PyTorch's
examples (pytorch/examples, mnist/main.py: ``transforms.Normalize((0.1307,), (0.3081,))``)."""


class ToFloat:
    """Unsigned-integer images to floats in [0, 1] (divided by the dtype's maximum,
    255 for uint8); floating arrays are only cast, since they are taken as scaled."""

    def __init__(self, dtype=numpy.float32):
        self.dtype = numpy.dtype(dtype)

    def __call__(self, x: numpy.ndarray) -> numpy.ndarray:
        x = numpy.asarray(x)
        if x.dtype.kind == "u":
            out = x.astype(self.dtype)
            out /= self.dtype.type(numpy.iinfo(x.dtype).max)
            return out
        if x.dtype.kind == "f":
            return x.astype(self.dtype, copy=False)
        raise TypeError(f"ToFloat: expected unsigned-integer or floating input, got {x.dtype}")

    def __repr__(self) -> str:
        return f"ToFloat({self.dtype.name})"


class Normalize:
    """``(x - mean) / std``, keeping the floating dtype of ``x``."""

    def __init__(self, mean, std):
        if not numpy.all(numpy.isfinite(numpy.asarray(mean, dtype=numpy.float64))):
            raise ValueError(f"Normalize: mean must be finite, got {mean}")
        if not numpy.all(numpy.isfinite(numpy.asarray(std, dtype=numpy.float64))):
            raise ValueError(f"Normalize: std must be finite, got {std}")
        if numpy.any(numpy.asarray(std) <= 0):
            raise ValueError(f"Normalize: std must be positive, got {std}")
        self.mean = mean
        self.std = std

    def __call__(self, x: numpy.ndarray) -> numpy.ndarray:
        if x.dtype.kind != "f":
            raise TypeError(f"Normalize: expected floating input (apply ToFloat first), got {x.dtype}")
        # Cast the statistics to x's dtype: float64 constants must not upcast float32 batches.
        out = x - numpy.asarray(self.mean, dtype=x.dtype)
        out /= numpy.asarray(self.std, dtype=x.dtype)
        return out

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Flatten:
    """(N, d1, d2, ...) to (N, d1·d2·...): images to the vectors an MLP takes."""

    def __call__(self, x: numpy.ndarray) -> numpy.ndarray:
        return x.reshape(len(x), -1)

    def __repr__(self) -> str:
        return "Flatten()"


class Compose:
    """Apply transforms one after another."""

    def __init__(self, transforms: Sequence[Callable[[numpy.ndarray], numpy.ndarray]]):
        self.transforms = list(transforms)

    def __call__(self, x: numpy.ndarray) -> numpy.ndarray:
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self) -> str:
        return f"Compose([{', '.join(map(repr, self.transforms))}])"
