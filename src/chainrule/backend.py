"""Where arrays live: the devices, and the array module (NumPy, CuPy) of each.

An op takes its array module from its inputs (``array_module(x)``, as CuPy's
``get_array_module``), so the same code runs wherever the arrays are. ``xp`` is only
the module that *new* tensors made from Python data go to: NumPy by default,
CuPy after ``chainrule.backend.use("cupy")``. A device is named as in PyTorch:
``"cpu"``, ``"cuda"`` (``"cuda:0"``).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy

from .errors import DeviceUnavailable

xp = numpy
"""The array module new tensors go to by default (``numpy`` or ``cupy``)."""

DEFAULT_DTYPE = numpy.dtype(numpy.float32)


@dataclass(frozen=True)
class Device:
    """A kind of array memory: its name (``"cpu"``, ``"cuda"``), its array module and type.
    The module provides NumPy's functions, ``asarray`` (from a NumPy array) and
    ``asnumpy`` (back to one)."""

    name: str
    module: ModuleType
    array_type: type


_DEVICES: dict[str, Device] = {"cpu": Device("cpu", numpy, numpy.ndarray)}
_BY_TYPE: dict[type, Device] = {numpy.ndarray: _DEVICES["cpu"]}
array_types: tuple = (numpy.ndarray,)
"""Every array type a Tensor may hold (NumPy's, and those of the devices registered)."""


def register_device(name: str, module: ModuleType, array_type: type) -> Device:
    """Make ``name`` a device whose arrays are ``array_type`` and whose functions are ``module``
    (CuPy registers itself as ``"cuda"``; the tests register a CPU stand-in)."""
    global array_types
    device = Device(name, module, array_type)
    _DEVICES[name] = device
    _BY_TYPE[array_type] = device
    array_types = tuple(_BY_TYPE)
    return device


def _cupy() -> ModuleType:
    try:
        import cupy
    except ImportError as exc:
        raise DeviceUnavailable(
            "device 'cuda' needs CuPy: pip install cupy-cuda12x (CUDA 12) or cupy-cuda13x (CUDA 13)"
        ) from exc
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CuPy's CUDARuntimeError, or a missing driver library
        raise DeviceUnavailable(f"device 'cuda': CuPy is installed but finds no usable GPU ({exc})") from None
    return cupy


def device(name: str) -> Device:
    """The Device called ``name`` (``"cuda:0"`` is ``"cuda"``); a clear error for an unknown one,
    or for ``"cuda"`` without CuPy or a GPU."""
    base = str(name).split(":")[0]
    found = _DEVICES.get(base)
    if found is None and base == "cuda":
        cupy = _cupy()
        found = register_device("cuda", cupy, cupy.ndarray)
    if found is None:
        raise DeviceUnavailable(f"unknown device {name!r}: expected one of {sorted(set(_DEVICES) | {'cuda'})}")
    return found


def device_names() -> tuple[str, ...]:
    """The devices known so far (``"cuda"`` joins once it is first asked for)."""
    return tuple(_DEVICES)


def device_of(array) -> str:
    """The name of the device that holds ``array``."""
    found = _BY_TYPE.get(type(array))
    if found is None:
        if isinstance(array, (numpy.ndarray, numpy.generic)):
            return "cpu"
        raise TypeError(f"not an array of a known device: {type(array).__name__}")
    return found.name


def array_module(array, *more) -> ModuleType:
    """The array module of the arrays (None entries ignored): NumPy unless one is a device's."""
    if type(array) is numpy.ndarray and not more:  # the common case, once per op
        return numpy
    for array in (array, *more):
        found = _BY_TYPE.get(type(array))
        if found is not None and found.module is not numpy:
            return found.module
    return numpy


def use(name: str) -> None:
    """The default module for new tensors: ``"numpy"`` or ``"cupy"`` (or a device's name)."""
    global xp
    if name in ("numpy", "cpu"):
        xp = numpy
    elif name in ("cupy", "cuda"):
        xp = device("cuda").module
    elif name in _DEVICES:
        xp = _DEVICES[name].module
    else:
        raise ValueError(f"unknown backend {name!r}: expected 'numpy' or 'cupy'")


def name() -> str:
    """The name of the default array module."""
    return xp.__name__


def to_numpy(array):
    """A NumPy copy (or view) of an array from any device."""
    if isinstance(array, numpy.ndarray):
        return array
    found = _BY_TYPE.get(type(array))
    if found is not None:
        return found.module.asnumpy(array)
    return numpy.asarray(array)


def to_device(array, name: str):
    """``array`` on the device ``name`` (itself when it is there already)."""
    target = device(name)
    if type(array) is target.array_type or (target.name == "cpu" and isinstance(array, numpy.ndarray)):
        return array
    host = to_numpy(array)
    return host if target.name == "cpu" else target.module.asarray(host)
