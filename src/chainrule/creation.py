"""Making tensors: from data, filled with a constant, random, or a range.

Floating results are float32 unless ``dtype`` says otherwise; Python integers give
int64 and NumPy arrays keep their dtype, as in PyTorch. ``device`` (``"cpu"``, ``"cuda"``)
says where the data lives: by default the default device (``backend.use``), or, for
``tensor`` of a Tensor or device array, where that lives. Random numbers are drawn on
the host from the seeded generator and moved, so a seed gives the same values everywhere.
"""
from __future__ import annotations

import numpy

from . import backend
from .random import default_generator
from .tensor import Tensor


def _shape(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _float_dtype(dtype):
    dtype = backend.DEFAULT_DTYPE if dtype is None else numpy.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"expected a floating dtype, got {dtype}")
    return dtype


def _module(device: str | None):
    return backend.xp if device is None else backend.device(device).module


def tensor(data, requires_grad: bool = False, dtype=None, device: str | None = None) -> Tensor:
    """A new Tensor holding a copy of ``data`` (list, number, array or Tensor)."""
    if isinstance(data, Tensor):
        data = data.data
    on_device = isinstance(data, backend.array_types) and not isinstance(data, numpy.ndarray)
    if device is None and on_device:
        device = backend.device_of(data)
    elif on_device and backend.device(device).name != backend.device_of(data):
        data = backend.to_numpy(data)
    xp = _module(device)
    if dtype is not None:
        array = xp.array(data, dtype=numpy.dtype(dtype))
    elif isinstance(data, (numpy.ndarray, numpy.generic)) or on_device:
        array = xp.array(data)
    else:
        array = xp.array(data)
        if array.dtype == numpy.float64:
            array = array.astype(backend.DEFAULT_DTYPE)
    return Tensor(array, requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad: bool = False, device: str | None = None) -> Tensor:
    return Tensor(_module(device).zeros(_shape(shape), dtype=_float_dtype(dtype)), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False, device: str | None = None) -> Tensor:
    return Tensor(_module(device).ones(_shape(shape), dtype=_float_dtype(dtype)), requires_grad=requires_grad)


def full(shape, value: float, dtype=None, requires_grad: bool = False, device: str | None = None) -> Tensor:
    return Tensor(_module(device).full(tuple(shape), value, dtype=_float_dtype(dtype)), requires_grad=requires_grad)


def randn(*shape, dtype=None, requires_grad: bool = False, generator: numpy.random.Generator | None = None,
          device: str | None = None) -> Tensor:
    """Standard normal samples from the seeded generator (see ``manual_seed``)."""
    rng = generator or default_generator()
    array = rng.standard_normal(_shape(shape), dtype=_float_dtype(dtype))
    return Tensor(_module(device).asarray(array), requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False, generator: numpy.random.Generator | None = None,
          device: str | None = None) -> Tensor:
    """Uniform samples in [0, 1) from the seeded generator (see ``manual_seed``)."""
    rng = generator or default_generator()
    array = rng.random(_shape(shape), dtype=_float_dtype(dtype))
    return Tensor(_module(device).asarray(array), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False, device: str | None = None) -> Tensor:
    """Evenly spaced values in [start, stop); integers give int64, as in PyTorch."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, stop, step))
        dtype = backend.DEFAULT_DTYPE if is_float else numpy.int64
    return Tensor(_module(device).arange(start, stop, step, dtype=numpy.dtype(dtype)), requires_grad=requires_grad)


def _like(data: Tensor, make, dtype, requires_grad: bool) -> Tensor:
    array = data.data if isinstance(data, Tensor) else data
    dtype = array.dtype if dtype is None else numpy.dtype(dtype)
    return Tensor(make(array, dtype), requires_grad=requires_grad)


def zeros_like(a: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``a``'s shape, dtype and device (PyTorch's ``zeros_like``)."""
    return _like(a, lambda x, d: backend.array_module(x).zeros(x.shape, dtype=d), dtype, requires_grad)


def ones_like(a: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``a``'s shape, dtype and device."""
    return _like(a, lambda x, d: backend.array_module(x).ones(x.shape, dtype=d), dtype, requires_grad)


def full_like(a: Tensor, value, dtype=None, requires_grad: bool = False) -> Tensor:
    """``value`` everywhere, in ``a``'s shape, dtype and device."""
    return _like(a, lambda x, d: backend.array_module(x).full(x.shape, value, dtype=d), dtype, requires_grad)


def randn_like(a: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of ``a``'s shape, (floating) dtype and device, from the seeded generator."""
    return _like(a, lambda x, d: backend.to_device(default_generator().standard_normal(x.shape, dtype=_float_dtype(d)),
                                                   backend.device_of(x)), dtype, requires_grad)


def rand_like(a: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) of ``a``'s shape, (floating) dtype and device, from the seeded generator."""
    return _like(a, lambda x, d: backend.to_device(default_generator().random(x.shape, dtype=_float_dtype(d)),
                                                   backend.device_of(x)), dtype, requires_grad)


def from_numpy(array: numpy.ndarray) -> Tensor:
    """A Tensor sharing ``array``'s memory (PyTorch's ``from_numpy``)."""
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def empty(*shape, dtype=None, requires_grad: bool = False, device: str | None = None) -> Tensor:
    """An uninitialised float tensor (its values are whatever the memory held)."""
    return Tensor(_module(device).empty(_shape(shape), dtype=_float_dtype(dtype)), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False, device: str | None = None) -> Tensor:
    """The n×m identity matrix (m = n by default)."""
    return Tensor(_module(device).eye(n, m, dtype=_float_dtype(dtype)), requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, dtype=None, requires_grad: bool = False,
             device: str | None = None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    return Tensor(_module(device).linspace(start, end, steps, dtype=_float_dtype(dtype)), requires_grad=requires_grad)


def randint(low: int, high: int | None = None, size: tuple = (), generator: numpy.random.Generator | None = None,
            device: str | None = None) -> Tensor:
    """Integers uniform in [low, high) (``randint(high, size)`` for [0, high)), int64, from the seeded generator."""
    if high is None:
        low, high = 0, low
    values = (generator or default_generator()).integers(low, high, tuple(size), dtype=numpy.int64)
    return Tensor(_module(device).asarray(values))


def randperm(n: int, generator: numpy.random.Generator | None = None, device: str | None = None) -> Tensor:
    """A random permutation of 0 … n − 1, int64, from the seeded generator."""
    return Tensor(_module(device).asarray((generator or default_generator()).permutation(n).astype(numpy.int64)))
