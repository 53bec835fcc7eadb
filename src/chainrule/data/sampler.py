"""DistributedSampler: each rank's share of one shuffled order per epoch, as PyTorch's.

Every rank draws the same permutation (seeded by ``seed`` and the epoch), pads it by
repeating its start so that it divides evenly (or, with ``drop_last``, cuts its tail),
and keeps every ``num_replicas``-th index from its own rank on: the shares are disjoint
and together cover the epoch.
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy

from ..launch_environment import launcher_rank, launcher_world_size


class DistributedSampler:
    """Indices of ``dataset`` (anything with ``len``) for one rank of ``num_replicas``.

    ``num_replicas`` and ``rank`` default to what the MPI launcher says (1 and 0 outside
    one). Call :meth:`set_epoch` before each epoch for a new order (a DataLoader given
    this sampler does it for you).
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):
        num_replicas = launcher_world_size() if num_replicas is None else num_replicas
        rank = launcher_rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got {num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in [0, {num_replicas - 1}], got {rank!r}")
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"DistributedSampler: seed must be a non-negative integer, got {seed!r}")
        self.dataset_size = len(dataset)
        self.num_replicas, self.rank = num_replicas, rank
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0
        if drop_last:
            self.num_samples = self.dataset_size // num_replicas
        else:
            self.num_samples = math.ceil(self.dataset_size / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order from now on."""
        self.epoch = int(epoch)

    def indices(self) -> numpy.ndarray:
        """This rank's indices for the current epoch, in order."""
        if self.shuffle:
            order = numpy.random.default_rng([self.seed, self.epoch]).permutation(self.dataset_size)
        else:
            order = numpy.arange(self.dataset_size)
        if self.total_size > len(order) and len(order):
            order = numpy.resize(order, self.total_size)  # repeats the start, as PyTorch pads
        order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (f"DistributedSampler(rank {self.rank} of {self.num_replicas}, {self.num_samples} of "
                f"{self.dataset_size} samples, shuffle={self.shuffle}, seed={self.seed}, epoch={self.epoch})")
