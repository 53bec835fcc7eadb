"""Resident memory of this process, and its peak over a stretch of code (Linux).

The peak is the kernel's high-water mark (VmHWM), which ``reset_peak`` sets back to
the current RSS by writing 5 to /proc/self/clear_refs: the peak then covers training
only, not the data loading before it.
"""
from __future__ import annotations


def _status_megabytes(field: str) -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def rss_mb() -> float | None:
    """Current resident set size in MiB (None where /proc is unavailable)."""
    return _status_megabytes("VmRSS")


def peak_rss_mb() -> float | None:
    """Peak resident set size in MiB since the start or the last ``reset_peak``."""
    return _status_megabytes("VmHWM")


def reset_peak() -> bool:
    """Make the peak start again from the current RSS; False if the kernel cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False
