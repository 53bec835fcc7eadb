"""Write a file so that readers see either the old file or the whole new one.

Data, caches and checkpoints must never be left half-written by a crash, a full
disk or a failed check: the bytes go to a temporary file in the same directory
(so the final rename stays on one filesystem and is atomic), are flushed and
fsynced, and only then renamed over the destination.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a binary temporary file that replaces ``path`` when the block succeeds.

    If the block raises (a failed checksum, a broken connection, Ctrl-C), the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # The rename itself lives in the directory entry; without this a power cut can
    # forget it. Directories cannot be opened for fsync on Windows.
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
