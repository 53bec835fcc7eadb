"""Write a file so that readers see either the old file or the whole new one.

Data, caches and checkpoints must never be left half-written by a crash, a full
disk or a failed check: the bytes go to a temporary file in the same directory
(so the final rename stays on one filesystem and is atomic), are flushed and
fsynced, and only then renamed over the destination.

A writer killed outright (SIGKILL, the OOM killer) cannot remove its temporary
file, so each temporary file's name carries its writer's process id, and the next
write to the same destination removes those whose writer no longer exists: however
often training is killed mid-checkpoint, at most one stray temporary file remains.
"""
from __future__ import annotations

import contextlib
import os
import re
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
    _remove_abandoned_temporaries(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if os.name == "posix":
                # mkstemp makes the file 0600; the finished file gets what open() would give it.
                os.fchmod(handle.fileno(), 0o666 & ~_current_umask())
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def _current_umask() -> int:
    # The umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_abandoned_temporaries(path: Path) -> None:
    """Delete the temporary files of earlier writers of ``path`` that were killed mid-write."""
    # Only POSIX can ask whether a process exists without touching it (on Windows,
    # os.kill(pid, 0) would send it a Ctrl-C).
    if os.name != "posix" or not path.parent.is_dir():
        return
    ours = re.compile(rf"\.{re.escape(path.name)}\.(\d+)\.[^.]+\.tmp")
    for candidate in path.parent.iterdir():
        match = ours.fullmatch(candidate.name)
        if match and not _process_exists(int(match[1])):
            with contextlib.suppress(FileNotFoundError):
                candidate.unlink()


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, and belongs to someone else
        return True
    return True


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
