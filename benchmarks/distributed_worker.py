"""One rank of the distributed mlp benchmark; started by benchmarks/distributed.py.

chainrule ranks run under ``mpiexec -n N python -m mpi4py -m benchmarks.distributed_worker``;
PyTorch ranks under ``torchrun --standalone --nproc-per-node N -m benchmarks.distributed_worker``
with DistributedDataParallel on gloo, as PyTorch's documentation sets it up. Both train the mlp
workload (784-512-512-10 ReLU, SGD lr 0.05 momentum 0.9, float32) at a global batch of 128,
each rank on its 128/N rows of every step, on data of Fashion-MNIST's shape already in memory
(random: timing does not depend on the values, and the GPU machine has no dataset).
Rank 0 writes {"seconds": ..., "steps": ...} for the timed steps to --out.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

GLOBAL_BATCH = 128
SAMPLES = 60_000
WARMUP = 20


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--framework", choices=("chainrule", "torch"), required=True)
    parser.add_argument("--steps", type=int, default=468)
    parser.add_argument("--bucket-mb", type=float, default=25)
    parser.add_argument("--out", required=True)
    return parser.parse_args()


def batches(rank: int, world: int, steps: int):
    """This rank's rows of each step's global batch, as float32 images and int64 labels."""
    rng = np.random.default_rng(0)
    x = rng.random((SAMPLES, 784), dtype=np.float32)
    y = rng.integers(0, 10, SAMPLES)
    share = GLOBAL_BATCH // world
    for step in range(steps):
        start = (step * GLOBAL_BATCH + rank * share) % (SAMPLES - GLOBAL_BATCH)
        yield x[start:start + share], y[start:start + share]


def timed(step, barrier, rank: int, world: int, steps: int) -> float:
    """Seconds for ``steps`` calls of ``step(x, y)`` after WARMUP untimed ones, from a barrier to a barrier."""
    for number, (x, y) in enumerate(batches(rank, world, WARMUP + steps)):
        if number == WARMUP:
            barrier()
            started = time.perf_counter()
        step(x, y)
    barrier()
    return time.perf_counter() - started


def run_chainrule(options) -> tuple[float, int, int]:
    import chainrule as cr
    from chainrule import distributed as dist
    from chainrule import nn, optim

    dist.init()
    rank, world = dist.rank(), dist.world_size()
    cr.manual_seed(0)
    model = dist.DistributedDataParallel(
        nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)),
        bucket_mb=options.bucket_mb)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss_fn(model(cr.Tensor(x)), cr.Tensor(y)).backward()
        opt.step()

    return timed(step, dist.barrier, rank, world, options.steps), rank, world


def run_torch(options) -> tuple[float, int, int]:
    import torch
    import torch.distributed as tdist
    from torch.nn.parallel import DistributedDataParallel

    tdist.init_process_group("gloo")
    rank, world = tdist.get_rank(), tdist.get_world_size()
    torch.manual_seed(0)
    model = DistributedDataParallel(torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 10)), bucket_cap_mb=options.bucket_mb)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt.step()

    seconds = timed(step, tdist.barrier, rank, world, options.steps)
    tdist.destroy_process_group()
    return seconds, rank, world


def main() -> None:
    options = arguments()
    seconds, rank, world = (run_chainrule if options.framework == "chainrule" else run_torch)(options)
    if rank == 0:
        with open(options.out, "w") as handle:
            json.dump({"seconds": seconds, "steps": options.steps, "world": world}, handle)


if __name__ == "__main__":
    main()
