"""MNIST and Fashion-MNIST as whole arrays, found on disk or downloaded once.

``dataset.images`` (uint8, N×28×28) and ``dataset.labels`` (int64, N) are the whole
split in memory, so a DataLoader batches by fancy indexing rather than per sample.
"""
from __future__ import annotations

import operator
import os
from pathlib import Path
from typing import Callable

import numpy

from ..errors import DataFormatError
from . import catalog
from .idx import read_idx
from .locate import locate

IMAGE_SHAPE = (28, 28)


class MNIST:
    """The MNIST handwritten digits: 60,000 training and 10,000 test images.

    root: a directory holding the split's two IDX files (gzipped or not), tried
    before ``$CHAINRULE_DATA/<dataset>``, the user cache and system packages.
    download: when the files are nowhere on disk, fetch them from the mirrors into
    the cache (SHA-256 verified). search=False: look in ``root`` alone, so that a
    missing or incomplete root is an error rather than a fallback to another copy. transform: applied to images by ``dataset[i]``
    and, by default, to batches by a DataLoader; it takes a batch (N, 28, 28).
    """

    spec: catalog.DatasetSpec = catalog.MNIST

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        download: bool = True,
        transform: Callable[[numpy.ndarray], numpy.ndarray] | None = None,
        *,
        search: bool = True,
    ):
        images_path, labels_path = locate(self.spec, root, train, download, search=search)
        self.images = _read_images(images_path)
        self.labels = _read_labels(labels_path, len(self.spec.classes))
        if len(self.images) != len(self.labels):
            raise DataFormatError(
                f"{images_path} holds {len(self.images)} images but {labels_path} holds "
                f"{len(self.labels)} labels: expected the same count"
            )
        self.train = train
        self.transform = transform
        self.classes = self.spec.classes
        self.files: tuple[Path, Path] = (images_path, labels_path)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[numpy.ndarray, int]:
        """(image, label) of one sample; the image goes through ``transform`` if set."""
        position = operator.index(index)
        if not -len(self) <= position < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} samples")
        position %= len(self)
        if self.transform is None:
            image = self.images[position]
        else:
            # Transforms work on batches; give them a batch of one.
            image = self.transform(self.images[position : position + 1])[0]
        return image, int(self.labels[position])

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"{type(self).__name__}({split}, {len(self)} samples, from {self.files[0].parent})"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28×28 grey images of 10 kinds of clothing, same layout as MNIST."""

    spec = catalog.FASHION_MNIST


def _read_images(path: Path) -> numpy.ndarray:
    images = read_idx(path)
    if images.dtype != numpy.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataFormatError(
            f"{path}: expected uint8 images of shape (N, 28, 28), found {images.dtype} of shape {images.shape}"
        )
    return images


def _read_labels(path: Path, num_classes: int) -> numpy.ndarray:
    labels = read_idx(path)
    if labels.dtype != numpy.uint8 or labels.ndim != 1:
        raise DataFormatError(f"{path}: expected uint8 labels of shape (N,), found {labels.dtype} of shape {labels.shape}")
    if labels.size and labels.max() >= num_classes:
        raise DataFormatError(f"{path}: expected labels in 0..{num_classes - 1}, found {labels.max()}")
    return labels.astype(numpy.int64)
