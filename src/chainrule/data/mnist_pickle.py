"""The classic ``mnist.pkl.gz`` (deeplearning.net / Nielsen's book), loaded safely.

The file is a Python 2 pickle of ``((x_train, y_train), (x_valid, y_valid),
(x_test, y_test))``. Unpickling runs whatever callables the file names, so a plain
``pickle.load`` of a downloaded file can run any code. This loader never hands the
unpickler a real callable, type or function:

1. The file is read whole, at most ``max_bytes`` after decompression; a gzip stream
   must pass its CRC and length check and end where its data ends.
2. The opcodes are scanned before anything is built: only those that build plain
   values, tuples, lists, dicts and the three array-rebuilding names may appear, every
   declared length must be backed by bytes in the file, memo indices stay small
   (a huge one makes the unpickler allocate its memo table), and nothing may follow STOP.
3. The unpickler runs with stand-ins for ``_reconstruct``, ``ndarray``, ``dtype`` and
   ``_codecs.encode``. BUILD reaches only the stand-ins' own ``__setstate__``, which
   refuses anything but an array's or a dtype's state, checked before it is applied:
   a numeric dtype, a shape whose size times the item size is exactly the number of
   raw bytes. The array is then a fresh C- or F-contiguous copy that owns its memory.
"""
from __future__ import annotations

import gzip
import io
import math
import os
import pickle
import pickletools
import zlib
from pathlib import Path

import numpy

from ..errors import DataFormatError

_GZIP_MAGIC = b"\x1f\x8b"
_SPLITS = ("train", "valid", "test")

MAX_BYTES = 512 << 20
"""The most bytes a pickle may hold once decompressed (the classic file holds 220 MB)."""

_ALLOWED_OPCODES = frozenset({
    "PROTO", "FRAME", "STOP", "MARK", "POP", "POP_MARK", "DUP",
    "GLOBAL", "STACK_GLOBAL", "REDUCE", "BUILD",
    "PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE", "GET", "BINGET", "LONG_BINGET",
    "NONE", "NEWTRUE", "NEWFALSE", "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4",
    "FLOAT", "BINFLOAT",
    "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
    "BINBYTES", "SHORT_BINBYTES", "BINBYTES8",
    "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3",
    "EMPTY_LIST", "LIST", "APPEND", "APPENDS", "EMPTY_DICT", "DICT", "SETITEM", "SETITEMS",
})
"""Opcodes an array pickle needs. Left out: those that call a class or a hook without REDUCE
(INST, OBJ, NEWOBJ, NEWOBJ_EX, PERSID, BINPERSID, EXT1/2/4), out-of-band buffers, sets and
bytearrays."""

_NUMERIC_TYPECODES = frozenset(
    kind + str(size) for kind, sizes in (("f", (2, 4, 8)), ("i", (1, 2, 4, 8)), ("u", (1, 2, 4, 8))) for size in sizes
) | {"b1"}
"""The dtypes an MNIST array may have; never ``O`` (objects) or structured dtypes."""


class _Refused(pickle.UnpicklingError):
    """What the stand-ins raise; the loader adds the file's name."""


class _StandIn:
    """Base of the objects the unpickler gets instead of real callables: no ``__dict__``, and a
    ``__setstate__`` that refuses, so BUILD cannot write attributes on them."""

    __slots__ = ()

    def __setstate__(self, state):
        raise _Refused(f"refused BUILD on {self!r}: state may only be set on an array or a dtype")


class _NdarrayType(_StandIn):
    """``numpy.ndarray``, which may only be passed to ``_reconstruct``: called, it would build a
    view with any strides over any buffer."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        raise _Refused("refused to call numpy.ndarray: arrays may only be rebuilt through _reconstruct")

    def __repr__(self) -> str:
        return "numpy.ndarray"


class _Reconstruct(_StandIn):
    """``_reconstruct(ndarray, shape, typecode)``: an empty array waiting for its state."""

    __slots__ = ()

    def __call__(self, subtype, shape, typecode) -> _ArrayState:
        if not isinstance(subtype, _NdarrayType):
            raise _Refused(f"_reconstruct may only rebuild numpy.ndarray, got {type(subtype).__name__}")
        return _ArrayState()

    def __repr__(self) -> str:
        return "_reconstruct"


class _Dtype(_StandIn):
    """``numpy.dtype(typecode, align, copy)`` for the numeric typecodes only."""

    __slots__ = ()

    def __call__(self, typecode, align=False, copy=False) -> _DtypeState:
        if not isinstance(typecode, str) or typecode not in _NUMERIC_TYPECODES:
            raise _Refused(f"dtype {typecode!r} is not a numeric dtype ({', '.join(sorted(_NUMERIC_TYPECODES))})")
        return _DtypeState(numpy.dtype(typecode))

    def __repr__(self) -> str:
        return "numpy.dtype"


class _Latin1Encode(_StandIn):
    """``_codecs.encode(text, "latin1")``: how Python 3 protocol-2 pickles store bytes."""

    __slots__ = ()

    def __call__(self, text, encoding="utf-8") -> bytes:
        if encoding not in ("latin1", "latin-1"):
            raise _Refused(f"_codecs.encode with codec {encoding!r} is not allowed")
        if not isinstance(text, str):
            raise _Refused(f"_codecs.encode of a {type(text).__name__} is not allowed")
        return text.encode("latin1")

    def __repr__(self) -> str:
        return "_codecs.encode"


class _DtypeState(_StandIn):
    """A numeric dtype whose byte order arrives through BUILD."""

    __slots__ = ("dtype",)

    def __init__(self, dtype: numpy.dtype):
        self.dtype = dtype

    def __setstate__(self, state):
        # NumPy's dtype state: (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
        if not (isinstance(state, tuple) and len(state) in (8, 9) and state[0] in (3, 4)):
            raise _Refused("malformed dtype state")
        if any(part is not None for part in state[2:5]) or (len(state) == 9 and state[8] is not None):
            raise _Refused("structured or sub-array dtypes are not allowed")
        byteorder = state[1]
        if byteorder not in ("<", ">", "|", "="):
            raise _Refused(f"malformed dtype byte order {byteorder!r}")
        if byteorder in "<>":
            self.dtype = self.dtype.newbyteorder(byteorder)

    def __repr__(self) -> str:
        return f"dtype({self.dtype})"


class _ArrayState(_StandIn):
    """An array rebuilt from its state ``(version, shape, dtype, is_fortran, raw bytes)`` after
    checking that the raw bytes are exactly what the shape and dtype need."""

    __slots__ = ("array",)

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if self.array is not None:
            raise _Refused("an array's state was set twice")
        if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
            raise _Refused("malformed array state: expected (1, shape, dtype, is_fortran, data)")
        _, shape, dtype, is_fortran, raw = state
        if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
            raise _Refused(f"malformed array shape {shape!r}")
        if not isinstance(dtype, _DtypeState):
            raise _Refused(f"an array's dtype must be a numpy.dtype, got {type(dtype).__name__}")
        if type(is_fortran) not in (bool, int):
            raise _Refused(f"malformed array order flag {is_fortran!r}")
        if isinstance(raw, str):
            try:
                raw = raw.encode("latin1")  # a Python 2 str, decoded as latin1 by the unpickler
            except UnicodeEncodeError:
                raise _Refused("an array's data must be bytes") from None
        if not isinstance(raw, bytes):
            raise _Refused(f"an array's data must be bytes, got {type(raw).__name__}")
        needed = math.prod(shape) * dtype.dtype.itemsize
        if needed != len(raw):
            raise _Refused(f"array of shape {shape} and dtype {dtype.dtype} needs {needed} bytes, "
                           f"its data has {len(raw)}")
        order = "F" if is_fortran else "C"
        view = numpy.frombuffer(raw, dtype=dtype.dtype).reshape(shape, order=order)
        self.array = numpy.array(view, dtype=dtype.dtype.newbyteorder("="), order=order, copy=True)

    def __repr__(self) -> str:
        return "ndarray"


_STAND_INS = {
    ("numpy.core.multiarray", "_reconstruct"): _Reconstruct(),
    ("numpy._core.multiarray", "_reconstruct"): _Reconstruct(),
    ("numpy", "ndarray"): _NdarrayType(),
    ("numpy", "dtype"): _Dtype(),
    ("_codecs", "encode"): _Latin1Encode(),
}


class _ArrayUnpickler(pickle.Unpickler):
    """An Unpickler that resolves names only to the stand-ins above."""

    def find_class(self, module: str, name: str):
        try:
            return _STAND_INS[(module, name)]
        except KeyError:
            raise _Refused(
                f"refused to unpickle {module}.{name}: an MNIST pickle may only rebuild NumPy arrays "
                f"({', '.join(f'{m}.{n}' for m, n in _STAND_INS)})"
            ) from None


def load_mnist_pickle(path: str | os.PathLike,
                      max_bytes: int = MAX_BYTES) -> tuple[tuple[numpy.ndarray, numpy.ndarray], ...]:
    """Load ``((x_train, y_train), (x_valid, y_valid), (x_test, y_test))`` from ``path``.

    The file may be gzipped or not. x arrays come back as stored (float32, (N, 784)
    in the classic file), y arrays as int64, each a fresh array that owns its memory.
    Raises DataFormatError naming the file when it refers to anything but NumPy arrays,
    is corrupt (a failed gzip CRC, bytes after the pickle), holds more than
    ``max_bytes`` once decompressed, or has another layout.
    """
    path = Path(path)
    content = _read_whole(path, max_bytes)
    try:
        _scan_opcodes(content)
        unpickled = _ArrayUnpickler(io.BytesIO(content), encoding="latin1").load()
        return _checked(unpickled)
    except _Refused as refusal:
        raise DataFormatError(f"{path}: {refusal}") from None
    except Exception as exc:  # a corrupt pickle can fail in any of a dozen ways
        raise DataFormatError(f"{path}: not a readable MNIST pickle ({type(exc).__name__}: {exc})") from exc


def _read_whole(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, decompressed if gzipped; at most ``max_bytes`` of them."""
    with open(path, "rb") as raw:
        if raw.read(2) != _GZIP_MAGIC:
            size = os.fstat(raw.fileno()).st_size
            if size > max_bytes:
                raise DataFormatError(f"{path}: {size} bytes, more than the {max_bytes} an MNIST pickle may hold")
            raw.seek(0)
            return raw.read()
        raw.seek(0)
        try:
            # Reading to the end makes GzipFile check every member's CRC and length,
            # and refuse bytes after the last member that are not a gzip stream.
            content = gzip.GzipFile(fileobj=raw).read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataFormatError(f"{path}: not a readable MNIST pickle: truncated or corrupt gzip stream ({exc})") from exc
    if len(content) > max_bytes:
        raise DataFormatError(f"{path}: decompresses to more than the {max_bytes} bytes an MNIST pickle may hold")
    return content


def _scan_opcodes(content: bytes) -> None:
    """Refuse, before anything is built, opcodes outside the allowed set, lengths the file
    cannot back, memo indices beyond the number of objects, and bytes after STOP."""
    stop = None
    count = 0
    for opcode, argument, position in pickletools.genops(content):
        count += 1
        if opcode.name not in _ALLOWED_OPCODES:
            raise _Refused(f"refused pickle opcode {opcode.name} at byte {position}")
        if opcode.name in ("PUT", "BINPUT", "LONG_BINPUT") and not 0 <= argument <= count:
            raise _Refused(f"memo index {argument} at byte {position} is out of range")
        if opcode.name == "STOP":
            stop = position
    if stop is not None and stop + 1 != len(content):
        raise _Refused(f"{len(content) - stop - 1} trailing bytes after the pickle's end")


def _checked(content) -> tuple[tuple[numpy.ndarray, numpy.ndarray], ...]:
    if not isinstance(content, (tuple, list)) or len(content) != 3:
        raise _Refused(
            f"expected ((x_train, y_train), (x_valid, y_valid), (x_test, y_test)), found {_describe(content)}"
        )
    splits = []
    for split, pair in zip(_SPLITS, content):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise _Refused(f"expected the {split} split as a pair (x, y), found {_describe(pair)}")
        x, y = (value.array if isinstance(value, _ArrayState) else value for value in pair)
        if not isinstance(x, numpy.ndarray) or x.ndim != 2 or x.dtype.kind != "f":
            raise _Refused(f"expected {split} x as a 2-D float array (N, 784), found {_describe(x)}")
        if not isinstance(y, numpy.ndarray) or y.ndim != 1 or y.dtype.kind not in "iu":
            raise _Refused(f"expected {split} y as a 1-D integer array (N,), found {_describe(y)}")
        if len(x) != len(y):
            raise _Refused(f"{split} split has {len(x)} images but {len(y)} labels")
        splits.append((x, y.astype(numpy.int64, copy=False)))
    return tuple(splits)


def _describe(value) -> str:
    if isinstance(value, numpy.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    if isinstance(value, _ArrayState):
        return "an array whose state was never set"
    return type(value).__name__
