"""What an MPI launcher (mpiexec, mpirun, srun) tells each process it starts: its rank and the
number of ranks, through environment variables. Read without importing MPI, so that the
layers below ``distributed`` (``data.DistributedSampler``) can default to them."""
from __future__ import annotations

import os

_RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID")
_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS")


def launched_by_mpi() -> bool:
    """Whether this process was started by an MPI launcher."""
    return any(name in os.environ for name in _RANK_VARIABLES + _SIZE_VARIABLES)


def launcher_rank() -> int:
    """This process's rank as the launcher set it (0 outside a launcher)."""
    return _first_int(_RANK_VARIABLES, 0)


def launcher_world_size() -> int:
    """The number of ranks the launcher started (1 outside a launcher)."""
    return _first_int(_SIZE_VARIABLES, 1)


def _first_int(names: tuple, default: int) -> int:
    for name in names:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return default
