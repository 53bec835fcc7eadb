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
import os
from pathlib import Path

import numpy

from ..data.atomic import atomic_write
from ..errors import CheckpointError

MODEL_PREFIX = "model/"
OPTIM_PREFIX = "optim/"
META_KEY = "meta.json"


def save_checkpoint(path: str | os.PathLike, model_state: dict, optim_state: dict | None = None,
                    meta: dict | None = None) -> Path:
    """Write model arrays, flat optimizer arrays and JSON metadata to ``path`` atomically."""
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
    _check_is_zip(path)
    model_state, optim_state, meta = {}, {}, None
    try:
        with numpy.load(path, allow_pickle=False) as archive:
            for key in archive.files:
                value = archive[key]
                if not isinstance(value, numpy.ndarray):
                    raise CheckpointError(f"{path}: entry {key!r} is not a .npy array")
                if key == META_KEY:
                    meta = json.loads(str(value))
                elif key.startswith(MODEL_PREFIX):
                    model_state[key[len(MODEL_PREFIX):]] = value
                elif key.startswith(OPTIM_PREFIX):
                    optim_state[key[len(OPTIM_PREFIX):]] = value
                else:
                    raise CheckpointError(f"{path}: unexpected entry {key!r} in the checkpoint")
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
    if meta is None:
        raise CheckpointError(f"{path}: not a chainrule checkpoint (no {META_KEY} entry)")
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: {META_KEY} holds a JSON {type(meta).__name__}, expected a JSON object")
    return model_state, optim_state, meta


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
