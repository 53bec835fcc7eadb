"""A small learnable image-classification problem that tests write themselves.

Each class is a fixed random 28×28 template plus Gaussian noise, stored as uint8, so
a model far above chance (0.1) has learned, and files look exactly like MNIST's.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from chainrule import data

NUM_CLASSES = 10


def synthetic_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (count, 28, 28) images and uint8 labels cycling through the classes."""
    templates = np.random.default_rng(1234).uniform(0, 255, (NUM_CLASSES, 28, 28))
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % NUM_CLASSES
    noisy = templates[labels] + rng.normal(0, 60, (count, 28, 28))
    return np.clip(noisy, 0, 255).astype(np.uint8), labels.astype(np.uint8)


def write_fashion_like(root: Path, train_count: int = 640, test_count: int = 200) -> Path:
    """The four gzipped IDX files of Fashion-MNIST's layout, holding the synthetic problem."""
    spec = data.FashionMNIST.spec
    for train, count, seed in ((True, train_count, 1), (False, test_count, 2)):
        image_file, label_file = spec.split(train)
        x, y = synthetic_images(count, seed)
        data.write_idx(root / f"{image_file.name}.gz", x, gzip=True)
        data.write_idx(root / f"{label_file.name}.gz", y, gzip=True)
    return root
