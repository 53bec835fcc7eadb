"""Checkpoints as ``.npz`` files: arrays and one JSON string, never a pickle.

Layout of the archive:
- ``model/<name>``  every entry of ``model.state_dict()``
- ``optim/<key>``   the optimizer state flattened by ``optim.flatten_state``
- ``meta.json``     a 0-d string array holding JSON: epoch, step, RNG states,
                    scheduler state, history, and the recipe needed to rebuild the model

Writing is atomic (a temporary file in the same directory, flushed, fsync'ed and
renamed over the target), so a crash mid-write leaves the previous checkpoint whole.
Loading uses ``allow_pickle=False``: a checkpoint can never run code.
"""
from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path

import numpy

from ..data.atomic import atomic_write
from ..errors import CheckpointError
from ..optim import flatten_state

MODEL_PREFIX = "model/"
OPTIM_PREFIX = "optim/"
META_KEY = "meta.json"


def save_checkpoint(path: str | os.PathLike, model_state: dict, optim_state: dict | None = None,
                    meta: dict | None = None) -> Path:
    """Write model arrays, optimizer arrays and JSON metadata to ``path`` atomically. The optimizer's
    state is its ``state_dict()`` as it is, or already flattened (``optim.flatten_state``)."""
    if optim_state and "param_groups" in optim_state:
        optim_state = flatten_state(optim_state)
    arrays = {MODEL_PREFIX + k: numpy.asarray(v) for k, v in model_state.items()}
    arrays.update({OPTIM_PREFIX + k: numpy.asarray(v) for k, v in (optim_state or {}).items()})
    arrays[META_KEY] = numpy.array(json.dumps(meta or {}))
    for key, value in arrays.items():
        if value.dtype == object:
            raise CheckpointError(f"{path}: entry {key!r} is an object array, which would need a pickle")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        numpy.savez(handle, **arrays)
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[dict, dict, dict]:
    """Read ``(model_state, optim_state, meta)`` from ``path``.

    Raises CheckpointError naming the file when it is missing, truncated, corrupt,
    or holds anything that would need unpickling.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    model_state, optim_state, meta = {}, {}, None
    for key, value in read_arrays(path).items():
        if key == META_KEY:
            meta = _json(path, value)
        elif key.startswith(MODEL_PREFIX):
            model_state[key[len(MODEL_PREFIX):]] = value
        elif key.startswith(OPTIM_PREFIX):
            optim_state[key[len(OPTIM_PREFIX):]] = value
        else:
            raise CheckpointError(f"{path}: unexpected entry {key!r} in the checkpoint")
    if meta is None:
        raise CheckpointError(f"{path}: not a chainrule checkpoint (no {META_KEY} entry)")
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: {META_KEY} holds a JSON {type(meta).__name__}, expected a JSON object")
    return model_state, optim_state, meta


def _json(path, value):
    try:
        return json.loads(str(value))
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint ({META_KEY} is not JSON: {exc})") from None


def read_arrays(path: str | os.PathLike) -> dict:
    """Every array of the ``.npz`` archive at ``path``, by name, without running code: the archive
    is checked before NumPy reads it (a zip, no duplicate or oversized members), pickles are
    refused, and whatever is wrong with it is a CheckpointError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    _check_is_zip(path)
    _check_members(path)
    arrays = {}
    try:
        with numpy.load(path, allow_pickle=False) as archive:
            for key in archive.files:
                value = archive[key]
                if not isinstance(value, numpy.ndarray):
                    raise CheckpointError(f"{path}: entry {key!r} is not a .npy array")
                arrays[key] = value
    except CheckpointError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise CheckpointError(f"{path}: refused to load, it contains pickled objects") from exc
        raise CheckpointError(f"{path}: corrupt checkpoint ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - see below
        # The bytes are untrusted, and a corrupt zip or .npy header fails inside zipfile
        # and NumPy's parser in many ways (BadZipFile, EOFError, SyntaxError, TokenError,
        # MemoryError or OverflowError for an absurd shape, ...): every one means "corrupt".
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({type(exc).__name__}: {exc})") from exc
    return arrays


def _check_is_zip(path: Path) -> None:
    """Refuse anything but a zip archive before NumPy sees it: NumPy takes any other file
    for a pickle (or a lone .npy array), and a checkpoint is never unpickled."""
    with open(path, "rb") as handle:
        head = handle.read(6)
    if head.startswith(b"PK"):
        return
    if head == b"\x93NUMPY":
        raise CheckpointError(f"{path}: not a checkpoint: a single .npy array, not an .npz archive")
    if head[:1] == b"\x80":
        raise CheckpointError(f"{path}: refused to load, it is a pickle (checkpoints are never unpickled)")
    raise CheckpointError(f"{path}: truncated or corrupt checkpoint (not an .npz archive: it starts with {head!r})")


MAX_COMPRESSION_RATIO = 32
"""A checkpoint member may decompress to at most this many times its stored size.
chainrule writes members uncompressed; NumPy's ``savez_compressed`` of trained weights
compresses about 1.1:1, and only a zip bomb reaches deflate's 1032:1."""


def _check_members(path: Path) -> None:
    """Read the zip's directory and each member's .npy header, and refuse before any array is
    allocated: duplicate member names (a reader would silently take one), a member whose size
    does not match what its header declares (NumPy allocates the declared shape before
    reading), or a member that decompresses far beyond its stored size."""
    try:
        with zipfile.ZipFile(path) as archive:
            seen = set()
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")  # NumPy's name for the entry
                if key in seen:
                    raise CheckpointError(f"{path}: the entry {key!r} appears twice")
                seen.add(key)
                if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1) + 4096:
                    raise CheckpointError(
                        f"{path}: member {info.filename!r} claims to decompress from {info.compress_size} "
                        f"to {info.file_size} bytes: refused as a zip bomb")
                if not info.filename.endswith(".npy"):
                    continue  # not an array: refused when read
                with archive.open(info) as member:
                    declared = _declared_npy_bytes(member)
                    header = member.tell()
                if declared is not None and header + declared != info.file_size:
                    raise CheckpointError(
                        f"{path}: truncated or corrupt checkpoint: member {info.filename!r} declares {declared} "
                        f"bytes of array data but holds "
                        f"{info.file_size - header}")
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - a corrupt zip directory or .npy header, in any of many ways
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({type(exc).__name__}: {exc})") from exc


def _declared_npy_bytes(member) -> int | None:
    """The bytes of array data a .npy header declares (None for an object array: refused later)."""
    version = numpy.lib.format.read_magic(member)
    read_header = {(1, 0): numpy.lib.format.read_array_header_1_0,
                   (2, 0): numpy.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:
        raise ValueError(f"unsupported .npy format version {version}")
    shape, _, dtype = read_header(member)
    if dtype.hasobject:
        return None
    return math.prod(shape) * dtype.itemsize

