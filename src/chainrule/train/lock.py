"""One training run per output folder: an advisory lock on ``<out>/.lock``.

Two runs writing the same folder would overwrite each other's checkpoints, history
and plots while both report success; the second run is refused instead. The lock is
``flock``'d, so the operating system releases it when its process dies, however it dies:
a lock file left behind by a killed run never blocks the next one.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there are not protected against sharing a folder
    fcntl = None

LOCK_NAME = ".lock"


class RunFolderBusy(RuntimeError):
    """Another live process holds the output folder's lock."""


@contextlib.contextmanager
def run_folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Create ``folder`` if needed and hold its lock for the block; RunFolderBusy if another run holds it."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, not a folder for the run's outputs")
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield folder
        return
    with open(folder / LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip()
            raise RunFolderBusy(
                f"{folder} is in use by another training run{f' (pid {owner})' if owner.isdigit() else ''}: "
                f"wait for it to finish, or write to another folder (--out)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield folder
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
