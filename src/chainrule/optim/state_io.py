"""An optimizer state dict as a flat ``{str: ndarray}``: saved with ``numpy.savez``, no pickle.

The flat form, one array per key (``prefix`` is prepended to every key)::

    state.<i>.<name>          the state entry ``name`` of parameter ``i``:
                              an array as it is (buffers: the parameter's dtype), or an
                              int counter (``step``) as a 0-d int64 array
    param_groups.<g>.<option> option of group ``g``: a bool, int, float or str as a 0-d
                              array (bool, int64, float64, unicode); a tuple (or list) of
                              numbers (``betas``) or the list ``params`` as a 1-d array

Reading it back, a 0-d integer array under ``state`` becomes a Python int, and under
``param_groups`` a 0-d array becomes its Python value, ``params`` a list of ints and
any other 1-d array a tuple (so a list of numbers comes back as a tuple). Every Python float survives exactly (float64 holds it),
so ``unflatten_state(flatten_state(sd))`` equals ``sd`` and training resumes
bit-identically::

    numpy.savez(path, **flatten_state(optimizer.state_dict()))
    with numpy.load(path, allow_pickle=False) as saved:
        optimizer.load_state_dict(unflatten_state(saved))
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy

from .. import backend

_SECTIONS = ("state", "param_groups")


def flatten_state(state_dict: dict[str, Any], prefix: str = "") -> dict[str, numpy.ndarray]:
    """The flat ``{key: ndarray}`` form of an optimizer state dict (see the module doc)."""
    flat = {}
    for index, entries in state_dict["state"].items():
        for name, value in entries.items():
            flat[_key(prefix, "state", index, name)] = _state_entry_to_array(name, value)
    for number, group in enumerate(state_dict["param_groups"]):
        for option, value in group.items():
            flat[_key(prefix, "param_groups", number, option)] = _option_to_array(option, value)
    return flat


def unflatten_state(flat: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The state dict back from its flat form; keys without ``prefix`` are ignored.

    ``flat`` may be an open ``numpy.load`` archive: only the keys under ``prefix``
    are read.
    """
    state: dict[int, dict[str, Any]] = {}
    groups: dict[int, dict[str, Any]] = {}
    for key in flat:
        if not key.startswith(prefix):
            continue
        parts = key[len(prefix):].split(".")
        if len(parts) != 3 or parts[0] not in _SECTIONS or not parts[1].isdigit():
            raise ValueError(
                f"{key!r} is not an optimizer state key: expected "
                f"'{prefix}state.<index>.<name>' or '{prefix}param_groups.<index>.<option>'"
            )
        section, index, name = parts
        array = numpy.asarray(flat[key])
        if section == "state":
            state.setdefault(int(index), {})[name] = _state_entry_from_array(array)
        else:
            groups.setdefault(int(index), {})[name] = _option_from_array(name, array)
    if sorted(groups) != list(range(len(groups))):
        raise ValueError(f"parameter groups {sorted(groups)} are not numbered 0..{len(groups) - 1}")
    return {
        "state": dict(sorted(state.items())),
        "param_groups": [groups[number] for number in range(len(groups))],
    }


def _key(prefix: str, section: str, index: int, name: str) -> str:
    if not isinstance(name, str) or "." in name or not name:
        raise ValueError(f"cannot flatten the entry {name!r} of {section}[{index}]: names must be non-empty, without '.'")
    return f"{prefix}{section}.{index}.{name}"


def _state_entry_to_array(name: str, value) -> numpy.ndarray:
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"state entry {name!r} is a {type(value).__name__}: only arrays and int counters flatten")
    if isinstance(value, int):
        return numpy.array(value, dtype=numpy.int64)
    return backend.to_numpy(value).copy()


def _state_entry_from_array(array: numpy.ndarray):
    if array.ndim == 0 and array.dtype.kind in "iu":
        return int(array)
    return array


def _option_to_array(option: str, value) -> numpy.ndarray:
    if isinstance(value, bool):
        return numpy.array(value, dtype=numpy.bool_)
    if isinstance(value, int):
        return numpy.array(value, dtype=numpy.int64)
    if isinstance(value, float):
        return numpy.array(value, dtype=numpy.float64)
    if isinstance(value, str):
        return numpy.array(value, dtype=numpy.str_)
    if option == "params":
        return numpy.array(value, dtype=numpy.int64)
    if isinstance(value, (tuple, list)) and all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in value):
        return numpy.array(value, dtype=numpy.float64 if any(isinstance(item, float) for item in value) else numpy.int64)
    raise TypeError(
        f"option {option!r} = {value!r} does not flatten: options must be bools, numbers, strings "
        f"or tuples of numbers"
    )


def _option_from_array(option: str, array: numpy.ndarray):
    if array.ndim == 0:
        return array.item()
    if array.ndim == 1:
        return [int(index) for index in array] if option == "params" else tuple(array.tolist())
    raise ValueError(f"option {option!r} is stored as a {array.ndim}-d array: expected 0-d or 1-d")
