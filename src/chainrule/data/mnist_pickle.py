"""The classic ``mnist.pkl.gz`` (deeplearning.net / Nielsen's book), loaded safely.

The file is a Python 2 pickle of ``((x_train, y_train), (x_valid, y_valid),
(x_test, y_test))``. Unpickling runs whatever callables the file names, so a plain
``pickle.load`` of a downloaded file can run any code. This loader resolves only
the few names needed to rebuild NumPy arrays; any other name is refused before
anything is called.
"""
from __future__ import annotations

import codecs
import gzip
import os
import pickle
from pathlib import Path

import numpy

from ..errors import DataFormatError

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # NumPy < 2 has the module under its old name only.
    from numpy.core.multiarray import _reconstruct

_GZIP_MAGIC = b"\x1f\x8b"
_SPLITS = ("train", "valid", "test")


def _latin1_encode(text: str, encoding: str) -> bytes:
    # Python 3 protocol-2 pickles store bytes as _codecs.encode(text, "latin1");
    # any other codec is not something an array pickle needs.
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode with codec {encoding!r} is not allowed")
    return codecs.encode(text, "latin1")


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): numpy.ndarray,
    ("numpy", "dtype"): numpy.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _ArrayUnpickler(pickle.Unpickler):
    """An Unpickler that can build NumPy arrays, tuples, lists and plain values, nothing else."""

    def __init__(self, file, path: Path):
        super().__init__(file, encoding="latin1")
        self.path = path

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise DataFormatError(
                f"{self.path}: refused to unpickle {module}.{name}: an MNIST pickle may only "
                f"rebuild NumPy arrays ({', '.join(f'{m}.{n}' for m, n in _ALLOWED)})"
            ) from None


def load_mnist_pickle(path: str | os.PathLike) -> tuple[tuple[numpy.ndarray, numpy.ndarray], ...]:
    """Load ``((x_train, y_train), (x_valid, y_valid), (x_test, y_test))`` from ``path``.

    The file may be gzipped or not. x arrays come back as stored (float32, (N, 784)
    in the classic file), y arrays as int64. Raises DataFormatError naming the file
    when it refers to anything but NumPy arrays, is corrupt, or has another layout.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if is_gzip else raw
        try:
            content = _ArrayUnpickler(stream, path).load()
        except DataFormatError:
            raise
        except Exception as exc:  # a corrupt pickle can fail in any of a dozen ways
            raise DataFormatError(f"{path}: not a readable MNIST pickle ({type(exc).__name__}: {exc})") from exc
    return _checked(path, content)


def _checked(path: Path, content) -> tuple[tuple[numpy.ndarray, numpy.ndarray], ...]:
    if not isinstance(content, (tuple, list)) or len(content) != 3:
        raise DataFormatError(
            f"{path}: expected ((x_train, y_train), (x_valid, y_valid), (x_test, y_test)), "
            f"found {type(content).__name__}"
        )
    splits = []
    for split, pair in zip(_SPLITS, content):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise DataFormatError(f"{path}: expected the {split} split as a pair (x, y), found {type(pair).__name__}")
        x, y = pair
        if not isinstance(x, numpy.ndarray) or x.ndim != 2 or x.dtype.kind != "f":
            raise DataFormatError(f"{path}: expected {split} x as a 2-D float array (N, 784), found {_describe(x)}")
        if not isinstance(y, numpy.ndarray) or y.ndim != 1 or y.dtype.kind not in "iu":
            raise DataFormatError(f"{path}: expected {split} y as a 1-D integer array (N,), found {_describe(y)}")
        if len(x) != len(y):
            raise DataFormatError(f"{path}: {split} split has {len(x)} images but {len(y)} labels")
        splits.append((x, y.astype(numpy.int64, copy=False)))
    return tuple(splits)


def _describe(value) -> str:
    if isinstance(value, numpy.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__
