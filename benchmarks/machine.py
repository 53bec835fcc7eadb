"""What the numbers were measured on: CPU, load, thread settings and the BLAS in use."""
from __future__ import annotations

import ctypes
import os
import platform

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that give every BLAS and OpenMP runtime ``threads`` threads
    (read when the libraries load, hence set for the subprocess before it starts)."""
    env = {variable: str(threads) for variable in THREAD_VARIABLES}
    env["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={threads}"
    return env


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


BUSY_LOAD_PER_CORE = 0.5
"""A 1-minute load average above this many runnable processes per core means other work shares
the CPUs: the timings, and their ratios, are not to be trusted."""


def busy_warning() -> str | None:
    """A warning to print when the machine is busy, else None."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return None
    cores = os.cpu_count() or 1
    if load <= BUSY_LOAD_PER_CORE * cores:
        return None
    return (f"WARNING: the machine is busy (load average {load:.2f} on {cores} cores): other work shares the "
            f"CPUs, so these figures are unreliable; run again on a quiet machine")


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def _loaded_openblas() -> ctypes.CDLL | None:
    """The OpenBLAS library NumPy loaded in this process, found through /proc/self/maps."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def _openblas_call(library: ctypes.CDLL, suffix: str, restype):
    """Call ``openblas_<suffix>`` under whichever prefix and suffix this build exports."""
    for name in (f"scipy_openblas_{suffix}64_", f"openblas_{suffix}64_", f"scipy_openblas_{suffix}", f"openblas_{suffix}"):
        function = getattr(library, name, None)
        if function is not None:
            function.restype = restype
            result = function()
            return result.decode() if isinstance(result, bytes) else result
    return None


def numpy_blas() -> str:
    """NumPy's BLAS: name, version, and for OpenBLAS the kernels chosen for this CPU."""
    import numpy

    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        description = f"{blas.get('name', 'unknown')} {blas.get('version', '')}".strip()
    except (KeyError, TypeError):
        description = "unknown"
    library = _loaded_openblas()
    if library is not None:
        core = _openblas_call(library, "get_corename", ctypes.c_char_p)
        threads = _openblas_call(library, "get_num_threads", ctypes.c_int)
        description += f" ({core} kernels, {threads} threads)"
    return description


AVX512_FLAGS = {"avx512f", "avx512bw", "avx512dq", "avx512vl"}
"""What OpenBLAS's SkylakeX kernels need of the CPU."""

OPENBLAS_AVX512_CORES = {"skylakex", "cooperlake", "sapphirerapids"}


def openblas_core() -> str | None:
    """The kernel set NumPy's OpenBLAS picked for this CPU (None if NumPy uses another BLAS)."""
    import numpy  # noqa: F401  (loads the BLAS)

    library = _loaded_openblas()
    return None if library is None else _openblas_call(library, "get_corename", ctypes.c_char_p)


def openblas_avx512_override() -> str | None:
    """``SkylakeX`` when this CPU has AVX-512 but OpenBLAS fell back to kernels without it,
    as an OpenBLAS release does on a CPU family newer than itself; else None.

    OpenBLAS reads ``OPENBLAS_CORETYPE`` once, when it loads, so this is a setting for
    the worker processes' environment, like the thread counts.
    """
    core = openblas_core()
    if core is None or core.lower() in OPENBLAS_AVX512_CORES or not AVX512_FLAGS <= cpu_flags():
        return None
    return "SkylakeX"
