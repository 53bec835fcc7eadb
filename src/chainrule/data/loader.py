"""Batches of (x, y) Tensors from whole arrays, shuffled reproducibly and resumably."""
from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy

from .. import random as cr_random
from ..tensor import Tensor
from .transforms import ToFloat

_STATE_KEYS = ("seed", "epoch", "batch")


class DataLoader:
    """Iterate over ``(x, y)`` batches as Tensors.

    dataset_or_arrays: an object with ``.images`` and ``.labels`` arrays (MNIST,
    FashionMNIST) or a pair ``(x, y)`` of arrays with the same first dimension.
    transform: applied to each batch of x; defaults to the dataset's ``transform``,
    else ``ToFloat()`` (uint8 to float32 in [0, 1]). y comes out as int64.

    Shuffled orders come from a generator seeded with ``(seed, epoch)``, so epoch k
    has the same order in every run with the same seed, whatever happened before.
    ``state_dict()`` (plain ints) records the seed and where iteration stands — the
    epoch and the batches of it already handed out — and ``load_state_dict`` makes
    the next ``iter()`` continue from exactly there. Each new ``iter()`` otherwise
    starts the next epoch.

    sampler: where the order comes from instead (a :class:`DistributedSampler`: this
    process's share of each epoch). The loader calls its ``set_epoch`` with its own epoch
    before each one, so the order still depends only on the seed and the epoch, and a
    resumed run continues it exactly. ``shuffle`` must then be False (the sampler shuffles).
    """

    def __init__(
        self,
        dataset_or_arrays,
        batch_size: int = 1,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
        transform: Callable[[numpy.ndarray], numpy.ndarray] | None = None,
        sampler=None,
    ):
        self.x, self.y = _arrays(dataset_or_arrays)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True exclude each other (the sampler sets the order)")
        self.sampler = sampler
        if not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        if transform is None:
            transform = getattr(dataset_or_arrays, "transform", None)
        self.transform = ToFloat() if transform is None else transform
        if seed is None and shuffle:
            # Draw a seed from chainrule's generator so cr.manual_seed governs the order
            # and state_dict() can still record it for an exact resume.
            seed = int(cr_random.default_generator().integers(2**63))
        self.seed = 0 if seed is None else int(seed)
        if self.seed < 0:
            raise ValueError(f"DataLoader: seed must be a non-negative integer, got {seed}")
        self._epoch = 0
        self._batch = 0
        self._resuming = False

    def __len__(self) -> int:
        """Number of batches per epoch."""
        samples = len(self.y) if self.sampler is None else len(self.sampler)
        if self.drop_last:
            return samples // self.batch_size
        return math.ceil(samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        if self._batch and not self._resuming:
            # A previous iteration stopped mid-epoch (a break, a peek): start afresh.
            self._epoch, self._batch = self._epoch + 1, 0
        self._resuming = False
        epoch, start, count = self._epoch, self._batch, len(self)
        order = self._order(epoch)
        samples = len(self.y) if order is None else len(order)
        for index in range(start, count):
            lo, hi = index * self.batch_size, min((index + 1) * self.batch_size, samples)
            rows = slice(lo, hi) if order is None else order[lo:hi]
            # Record the position before handing the batch out, so a state_dict()
            # taken while the caller trains on it says where to continue.
            self._epoch, self._batch = (epoch, index + 1) if index + 1 < count else (epoch + 1, 0)
            yield Tensor(self.transform(self.x[rows])), Tensor(self.y[rows])
        if start >= count:
            self._epoch, self._batch = epoch + 1, 0

    def _order(self, epoch: int) -> numpy.ndarray | None:
        if self.sampler is not None:
            if hasattr(self.sampler, "set_epoch"):
                self.sampler.set_epoch(epoch)
            return numpy.asarray(list(self.sampler), dtype=numpy.intp)
        if not self.shuffle:
            return None
        return numpy.random.default_rng([self.seed, epoch]).permutation(len(self.y))

    def state_dict(self) -> dict:
        """``{"seed", "epoch", "batch"}``: the next batch to hand out, as plain ints."""
        return {"seed": self.seed, "epoch": self._epoch, "batch": self._batch}

    def load_state_dict(self, state: dict) -> None:
        """Continue, at the next ``iter()``, from a :meth:`state_dict`."""
        missing = [key for key in _STATE_KEYS if key not in state]
        if missing:
            raise KeyError(f"DataLoader.load_state_dict: missing {missing}; expected keys {list(_STATE_KEYS)}")
        epoch, batch = int(state["epoch"]), int(state["batch"])
        if epoch < 0 or not 0 <= batch < max(len(self), 1):
            raise ValueError(
                f"DataLoader.load_state_dict: epoch {epoch}, batch {batch} do not fit a loader "
                f"of {len(self)} batches per epoch"
            )
        self.seed, self._epoch, self._batch = int(state["seed"]), epoch, batch
        self._resuming = True

    def __repr__(self) -> str:
        return (
            f"DataLoader({len(self.y)} samples, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, {len(self)} batches)"
        )


def _arrays(dataset_or_arrays) -> tuple[numpy.ndarray, numpy.ndarray]:
    if hasattr(dataset_or_arrays, "images") and hasattr(dataset_or_arrays, "labels"):
        x, y = dataset_or_arrays.images, dataset_or_arrays.labels
    elif isinstance(dataset_or_arrays, (tuple, list)) and len(dataset_or_arrays) == 2:
        x, y = (numpy.asarray(a) for a in dataset_or_arrays)
    else:
        raise TypeError(
            "DataLoader: expected a dataset with .images and .labels, or a pair (x, y) of arrays; "
            f"got {type(dataset_or_arrays).__name__}"
        )
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise TypeError(f"DataLoader: expected 1-D integer labels, got {y.dtype} of shape {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"DataLoader: x has {len(x)} samples but y has {len(y)}")
    return x, y.astype(numpy.int64, copy=False)
