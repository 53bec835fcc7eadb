"""Data-parallel training over MPI (mpi4py): run one process per rank with
``mpiexec -n N python -m mpi4py your_script.py`` (or ``chainrule train --workers N``).

    from chainrule import distributed as dist
    dist.init()                                   # a world of one outside mpiexec
    model = dist.DistributedDataParallel(model)   # rank 0's weights everywhere
    sampler = data.DistributedSampler(train, shuffle=True, seed=0)
    loader = data.DataLoader(train, batch_size=64, sampler=sampler)   # 64 per rank
    ...loss.backward()                            # gradients averaged over the ranks
    if dist.rank() == 0: save(...)

mpi4py is imported by ``init()`` only when the process was started by an MPI launcher,
and nowhere else in chainrule. See docs/distributed.md.
"""
from .communicator import (
    abort,
    all_reduce,
    barrier,
    broadcast,
    exit_job,
    init,
    is_initialized,
    launched_by_mpi,
    rank,
    world_size,
)
from .ddp import DistributedDataParallel

__all__ = ["init", "is_initialized", "rank", "world_size", "barrier", "all_reduce", "broadcast", "abort", "exit_job",
           "launched_by_mpi", "DistributedDataParallel"]
