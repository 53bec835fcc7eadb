"""A CPU stand-in for a GPU array type, so that a NumPy leak fails on a machine without a GPU.

``StandInArray`` holds a NumPy array but behaves as CuPy's arrays do where it matters:
implicit conversion to NumPy (``numpy.asarray(a)``, ``numpy.testing`` on it) raises
TypeError, and a function of the stand-in module given a NumPy array raises TypeError
(CuPy: "Unsupported type <class 'numpy.ndarray'>"); ``asarray`` and ``asnumpy`` are the
explicit transfers. NumPy functions called on stand-in arrays dispatch to the stand-in
module, as CuPy's ``__array_ufunc__``/``__array_function__`` do. Its flags have no
``writeable`` (CuPy's have none), and it has no read-only arrays.

``register()`` makes it the device ``"standin"``: ``x.to("standin")``, ``model.to("standin")``.
"""
from __future__ import annotations

import types

import numpy

from chainrule import backend


class StandInFlags:
    """CuPy's flags: contiguity and ownership, no ``writeable``."""

    def __init__(self, array: numpy.ndarray):
        self.c_contiguous = array.flags.c_contiguous
        self.f_contiguous = array.flags.f_contiguous
        self.owndata = array.flags.owndata


def _refuse_host(value, where: str):
    if isinstance(value, numpy.ndarray):
        raise TypeError(f"Unsupported type {type(value)} in {where}: a NumPy array reached the stand-in device")
    return value


def _unwrap(value, where: str):
    if isinstance(value, StandInArray):
        return value.array
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, where) for v in value)
    return _refuse_host(value, where)


def _wrap(value):
    if isinstance(value, numpy.ndarray):
        return StandInArray(value)
    if isinstance(value, numpy.generic):  # CuPy gives 0-d arrays where NumPy gives scalars
        return StandInArray(numpy.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _delegate(function, where: str):
    def call(*args, **kwargs):
        args = _unwrap(args, where)
        kwargs = {k: _unwrap(v, where) for k, v in kwargs.items()}
        return _wrap(function(*args, **kwargs))

    call.__name__ = getattr(function, "__name__", where)
    return call


class StandInArray:
    __slots__ = ("array",)
    __array_priority__ = 1000

    def __init__(self, array: numpy.ndarray):
        self.array = array

    # -- what CuPy refuses ---------------------------------------------------------
    def __array__(self, *args, **kwargs):
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed (stand-in device, as CuPy): "
            "use .get() or backend.to_numpy()"
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"numpy.{ufunc.__name__}"
        inputs = _unwrap(inputs, where)
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"], where)
        return _wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        where = f"numpy.{func.__name__}"
        return _wrap(func(*_unwrap(args, where), **{k: _unwrap(v, where) for k, v in kwargs.items()}))

    # -- attributes ------------------------------------------------------------------
    shape = property(lambda self: self.array.shape)
    dtype = property(lambda self: self.array.dtype)
    ndim = property(lambda self: self.array.ndim)
    size = property(lambda self: self.array.size)
    strides = property(lambda self: self.array.strides)
    nbytes = property(lambda self: self.array.nbytes)
    itemsize = property(lambda self: self.array.itemsize)
    flags = property(lambda self: StandInFlags(self.array))
    T = property(lambda self: StandInArray(self.array.T))
    base = property(lambda self: None if self.array.base is None else _wrap(self.array.base))
    device = "standin"

    def get(self) -> numpy.ndarray:
        """A NumPy copy (CuPy's name)."""
        return self.array.copy()

    def __getattr__(self, name):
        if name.startswith("__"):  # __array_interface__, the buffer protocol: no way around __array__
            raise AttributeError(name)
        attribute = getattr(self.array, name)
        return _delegate(attribute, f"ndarray.{name}") if callable(attribute) else _wrap(attribute)

    # -- Python protocols ----------------------------------------------------------
    def __len__(self):
        return len(self.array)

    def __bool__(self):
        return bool(self.array)

    def __float__(self):
        return float(self.array)

    def __int__(self):
        return int(self.array)

    def __index__(self):
        return self.array.__index__()

    def __iter__(self):
        return (_wrap(row) for row in self.array)

    def __repr__(self):
        return f"standin({self.array!r})"

    def __getitem__(self, index):
        return _wrap(self.array[_unwrap(index, "indexing")])

    def __setitem__(self, index, value):
        self.array[_unwrap(index, "indexing")] = _unwrap(value, "assignment")

    __hash__ = None


def _operator(name: str):
    def apply(self, *others):
        return _wrap(getattr(self.array, name)(*_unwrap(others, f"operator {name}")))

    apply.__name__ = name
    return apply


for _name in ("add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "floordiv", "rfloordiv",
              "mod", "rmod", "pow", "rpow", "matmul", "rmatmul", "and", "rand", "or", "ror", "xor", "rxor",
              "iadd", "isub", "imul", "itruediv", "ipow", "iand", "ior", "ixor",
              "lt", "le", "gt", "ge", "eq", "ne", "neg", "pos", "abs", "invert"):
    setattr(StandInArray, f"__{_name}__", _operator(f"__{_name}__"))


class _StandInUfunc:
    def __init__(self, ufunc):
        self.ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _delegate(self.ufunc, self.__name__)(*args, **kwargs)

    def at(self, array, index, values):
        _unwrap(array, "ufunc.at")
        self.ufunc.at(array.array, _unwrap(index, "ufunc.at"), _unwrap(values, "ufunc.at"))

    def __getattr__(self, name):
        return _delegate(getattr(self.ufunc, name), f"{self.__name__}.{name}")


class _StandInModule(types.ModuleType):
    """NumPy's functions on stand-in arrays; ``asarray`` and ``asnumpy`` transfer explicitly."""

    ndarray = StandInArray

    def __init__(self):
        super().__init__("standin")
        self.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
            as_strided=lambda a, shape, strides: StandInArray(
                numpy.lib.stride_tricks.as_strided(a.array, shape, strides))))

    @staticmethod
    def asarray(value, dtype=None):
        if isinstance(value, StandInArray):
            return value if dtype is None else StandInArray(value.array.astype(dtype, copy=False))
        return StandInArray(numpy.array(value, dtype=dtype))

    array = asarray

    @staticmethod
    def asnumpy(value) -> numpy.ndarray:
        return value.array.copy() if isinstance(value, StandInArray) else numpy.asarray(value)

    def __getattr__(self, name):
        attribute = getattr(numpy, name)
        if isinstance(attribute, numpy.ufunc):
            return _StandInUfunc(attribute)
        if callable(attribute) and not isinstance(attribute, type):
            return _delegate(attribute, f"standin.{name}")
        return attribute


standin = _StandInModule()


def register() -> None:
    """Make the stand-in the device ``"standin"`` (idempotent)."""
    backend.register_device("standin", standin, StandInArray)
