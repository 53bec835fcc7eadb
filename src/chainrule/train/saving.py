"""``cr.save(obj, path)`` and ``cr.load(path)``: state dicts, and nested dicts and lists of
Tensors, arrays, numbers and strings, in one ``.npz`` file, as PyTorch's ``torch.save``
and ``torch.load`` are used for them, but never with a pickle.

Layout: every array (a Tensor's data, or an array) is a member ``array/<n>``; ``tree.json``
holds the structure, with each array replaced by its number. Dict keys keep their type
(an optimizer's ``state`` is keyed by ints), tuples stay tuples, NaN and infinities stay
numbers. Writing is atomic; loading checks the archive before NumPy reads it.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy

from .. import backend
from ..data.atomic import atomic_write
from ..errors import CheckpointError
from ..tensor import Tensor
from .checkpoint import read_arrays

TREE_KEY = "tree.json"
ARRAY_PREFIX = "array/"
FORMAT = "chainrule-save-1"


def save(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj`` (a state dict, or nested dicts, lists and tuples of Tensors, arrays, numbers,
    strings, booleans and None) to ``path`` atomically. TypeError, naming where in ``obj``, for
    anything else."""
    arrays: dict[str, numpy.ndarray] = {}
    tree = {"format": FORMAT, "value": _encode(obj, arrays, "obj")}
    arrays[TREE_KEY] = numpy.array(json.dumps(tree))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        numpy.savez(handle, **arrays)
    return path


def load(path: str | os.PathLike) -> Any:
    """What :func:`save` wrote to ``path``; Tensors come back as Tensors (on the CPU), arrays as
    NumPy arrays. CheckpointError naming the file for anything that is not such a file."""
    arrays = read_arrays(path)
    try:
        tree = json.loads(str(arrays.pop(TREE_KEY)))
    except KeyError:
        raise CheckpointError(f"{path}: not written by cr.save (no {TREE_KEY} entry)") from None
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: corrupt file ({TREE_KEY} is not JSON: {exc})") from None
    if not isinstance(tree, dict) or tree.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not written by cr.save (its {TREE_KEY} has no format {FORMAT!r})")
    try:
        return _decode(tree["value"], arrays)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CheckpointError(f"{path}: corrupt file (its structure does not fit its arrays: {exc})") from None


def _encode(value, arrays: dict, where: str):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, numpy.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, numpy.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, numpy.bool_):
        return bool(value)
    if isinstance(value, Tensor) or isinstance(value, backend.array_types):
        array = backend.to_numpy(value.data if isinstance(value, Tensor) else value)
        if array.dtype == object:
            raise TypeError(f"cr.save: {where} is an object array, which would need a pickle")
        key = f"{ARRAY_PREFIX}{len(arrays)}"
        arrays[key] = array
        entry = {"array": len(arrays) - 1}
        if isinstance(value, Tensor):
            entry["tensor"] = bool(value.requires_grad)
        return entry
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"cr.save: {where} has a key {key!r} of type {type(key).__name__}; keys are str or int")
            items.append([key, _encode(item, arrays, f"{where}[{key!r}]")])
        return {"dict": items}
    if isinstance(value, (list, tuple)):
        encoded = [_encode(item, arrays, f"{where}[{i}]") for i, item in enumerate(value)]
        return {"tuple": encoded} if isinstance(value, tuple) else encoded
    raise TypeError(f"cr.save: {where} is a {type(value).__name__}, which cr.save does not store "
                    f"(Tensors, arrays, numbers, strings, booleans, None, and dicts, lists and tuples of them)")


def _decode(value, arrays: dict):
    if isinstance(value, list):
        return [_decode(item, arrays) for item in value]
    if not isinstance(value, dict):
        return value
    if "dict" in value:
        return {key: _decode(item, arrays) for key, item in value["dict"]}
    if "tuple" in value:
        return tuple(_decode(item, arrays) for item in value["tuple"])
    if "float" in value:
        return float(value["float"])
    array = arrays[f"{ARRAY_PREFIX}{int(value['array'])}"]
    if "tensor" in value:
        return Tensor(array, requires_grad=bool(value["tensor"]))
    return array
