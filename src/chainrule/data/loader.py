"""Batches of (x, y) Tensors from whole arrays, shuffled reproducibly and resumably."""
from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy

from .. import backend
from .. import random as cr_random
from ..tensor import Tensor
from .transforms import ToFloat

_STATE_KEYS = ("seed", "epoch", "batch")


class DataLoader:
    """Iterate over ``(x, y)`` batches as Tensors (or ``(x, y, ...)``, one Tensor per field).

    dataset_or_arrays: an object with ``.images`` and ``.labels`` arrays (MNIST,
    FashionMNIST), a pair ``(x, y)`` of arrays with the same first dimension, a
    :class:`TensorDataset`, or any dataset with PyTorch's protocol (``__len__`` and
    ``__getitem__`` returning a sample: a tuple of arrays, Tensors or numbers), whose
    samples are stacked field by field. Targets may be integer labels (given as int64) or
    floats of any shape (regression).
    transform: applied to each batch of x; defaults to the dataset's ``transform`` (for
    ``.images`` datasets), else ``ToFloat()`` for unsigned-integer images (uint8 to float32
    in [0, 1]) and floats (cast to float32), and nothing for signed integers (token ids)
    or for a protocol dataset (its ``__getitem__`` transforms its own samples).

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

    device: where the batches are delivered (``"cuda"``); they are gathered and transformed
    on the host, then copied. By default they stay NumPy arrays.
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
        device: str | None = None,
    ):
        self.fields, self.dataset = _fields(dataset_or_arrays)
        self.device = None if device is None else backend.device(device).name
        self.samples = len(self.fields[0]) if self.fields is not None else len(self.dataset)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True exclude each other (the sampler sets the order)")
        self.sampler = sampler
        if not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        if transform is None and self.fields is not None:
            transform = getattr(dataset_or_arrays, "transform", None)
            if transform is None and self.fields[0].dtype.kind in "uf":
                transform = ToFloat()
        self.transform = transform
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
        samples = self.samples if self.sampler is None else len(self.sampler)
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
        samples = self.samples if order is None else len(order)
        for index in range(start, count):
            lo, hi = index * self.batch_size, min((index + 1) * self.batch_size, samples)
            rows = slice(lo, hi) if order is None else order[lo:hi]
            # Record the position before handing the batch out, so a state_dict()
            # taken while the caller trains on it says where to continue.
            self._epoch, self._batch = (epoch, index + 1) if index + 1 < count else (epoch + 1, 0)
            yield self._batch_of(rows)
        if start >= count:
            self._epoch, self._batch = epoch + 1, 0

    @property
    def x(self):
        """The whole input array (for a loader over arrays, not a protocol dataset)."""
        return self._whole(0)

    @property
    def y(self):
        """The whole target array (for a loader over arrays, not a protocol dataset)."""
        return self._whole(1)

    def _whole(self, position: int):
        if self.fields is None or position >= len(self.fields):
            raise AttributeError(f"DataLoader over {type(self.dataset).__name__} holds no whole arrays: index the "
                                 f"dataset itself")
        return self.fields[position]

    def _batch_of(self, rows) -> tuple:
        if self.fields is not None:
            batch = [field[rows] for field in self.fields]
        else:
            indices = range(rows.start, rows.stop) if isinstance(rows, slice) else rows
            batch = _collate([self.dataset[int(i)] for i in indices])
        if self.transform is not None:
            batch[0] = self.transform(batch[0])
        if self.device is not None:
            batch = [backend.to_device(field, self.device) for field in batch]
        return tuple(Tensor(field) for field in batch)

    def _order(self, epoch: int) -> numpy.ndarray | None:
        if self.sampler is not None:
            if hasattr(self.sampler, "set_epoch"):
                self.sampler.set_epoch(epoch)
            return numpy.asarray(list(self.sampler), dtype=numpy.intp)
        if not self.shuffle:
            return None
        return numpy.random.default_rng([self.seed, epoch]).permutation(self.samples)

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
            f"DataLoader({self.samples} samples, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, {len(self)} batches)"
        )


class TensorDataset:
    """PyTorch's TensorDataset: sample i is the i-th row of each of the given arrays (or Tensors),
    which must be equally long. A DataLoader batches it by slicing the arrays, not sample by sample."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one array")
        self.tensors = tuple(t.numpy() if isinstance(t, Tensor) else numpy.asarray(t) for t in tensors)
        lengths = [len(t) if t.ndim else None for t in self.tensors]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(t.shape) for t in self.tensors)
            raise ValueError(f"TensorDataset: every array needs the same first dimension, got shapes {shapes}")

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index) -> tuple:
        return tuple(Tensor(t[index]) for t in self.tensors)

    def __repr__(self) -> str:
        return f"TensorDataset({len(self)} samples, shapes {', '.join(str(t.shape[1:]) for t in self.tensors)})"


def _fields(source) -> tuple[list | None, object]:
    """(whole arrays, None) for the kinds a loader slices; (None, dataset) for a protocol
    dataset, which it indexes sample by sample."""
    if hasattr(source, "images") and hasattr(source, "labels"):
        arrays = [source.images, source.labels]
    elif isinstance(source, TensorDataset):
        arrays = list(source.tensors)
    elif isinstance(source, (tuple, list)) and len(source) == 2:
        arrays = [numpy.asarray(a) for a in source]
        if len(arrays[0]) != len(arrays[1]):
            raise ValueError(f"DataLoader: x has {len(arrays[0])} samples but y has {len(arrays[1])}")
    elif hasattr(source, "__len__") and hasattr(source, "__getitem__") and not hasattr(source, "shape"):
        return None, source
    else:
        raise TypeError(
            "DataLoader: expected a dataset with .images and .labels, a pair (x, y) of arrays, a TensorDataset, "
            f"or a dataset with __len__ and __getitem__; got {type(source).__name__}"
            + (" (wrap arrays in data.TensorDataset(x, y))" if hasattr(source, "shape") else "")
        )
    return [a.astype(numpy.int64, copy=False) if a.dtype.kind in "iu" and i > 0 else a
            for i, a in enumerate(arrays)], None


def _collate(samples: list) -> list:
    """Stack a batch of samples field by field: a sample is a tuple or list of arrays, Tensors or
    numbers (or one of them alone)."""
    rows = [sample if isinstance(sample, (tuple, list)) else (sample,) for sample in samples]
    if len({len(row) for row in rows}) > 1:
        raise ValueError("DataLoader: the dataset's samples have different numbers of fields")
    return [numpy.stack([value.numpy() if isinstance(value, Tensor) else numpy.asarray(value) for value in field])
            for field in zip(*rows)]
