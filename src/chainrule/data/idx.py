"""The IDX format of MNIST and Fashion-MNIST: read it, and write small files.

An IDX file is two zero bytes, a type code, the number of dimensions ``ndim``,
``ndim`` big-endian uint32 sizes, then the values in C order, big-endian. The
dataset files are usually gzipped; gzip is recognised by its magic bytes, not by
the file name.
"""
from __future__ import annotations

import gzip as gzip_module
import os
import struct
import zlib
from pathlib import Path

import numpy

from ..errors import DataFormatError
from .atomic import atomic_write

TYPE_CODES = {
    0x08: numpy.dtype(">u1"),
    0x09: numpy.dtype(">i1"),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}
"""IDX type code -> the big-endian dtype of the values that follow the header."""

_CODE_OF_KIND = {(dtype.kind, dtype.itemsize): code for code, dtype in TYPE_CODES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22

MAX_BYTES = 1 << 30
"""The largest payload ``read_idx`` accepts by default (MNIST's training images are 47 MB)."""

DEFLATE_MAX_RATIO = 1032
"""Deflate's best compression ratio: a gzip file of n bytes cannot hold more than about
1032·n bytes of data, so a header that claims more is refused before decompressing."""


def read_idx(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> numpy.ndarray:
    """Read an IDX file (gzipped or raw) into a native-endian, writable array.

    Raises DataFormatError, naming the file, for a wrong magic number, an unknown
    type code, a truncated header or payload, trailing bytes, a corrupt gzip stream,
    or a header that declares more than ``max_bytes`` of data (or more than a gzip
    file of its size can hold): such a header is refused before the payload is read.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        file_size = os.fstat(raw.fileno()).st_size
        if not is_gzip:
            return _parse(path, raw, available=file_size, max_bytes=max_bytes)
        with gzip_module.GzipFile(fileobj=raw) as stream:
            try:
                return _parse(path, stream, available=None, max_bytes=max_bytes,
                              gzip_capacity=DEFLATE_MAX_RATIO * file_size)
            except (OSError, EOFError, zlib.error) as exc:
                raise DataFormatError(f"{path}: truncated or corrupt gzip stream ({exc})") from exc


def write_idx(path: str | os.PathLike, array, gzip: bool = False) -> None:
    """Write ``array`` as an IDX file, atomically; gzipped when ``gzip`` is true.

    Supported dtypes: uint8, int8, int16, int32, float32, float64 (the six IDX types).
    """
    array = numpy.asarray(array)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        supported = ", ".join(str(dtype.newbyteorder("=")) for dtype in TYPE_CODES.values())
        raise ValueError(f"write_idx: IDX cannot store dtype {array.dtype}; supported: {supported}")
    if array.ndim > 255 or any(size >= 2**32 for size in array.shape):
        raise ValueError(f"write_idx: shape {array.shape} does not fit an IDX header")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = numpy.ascontiguousarray(array, dtype=TYPE_CODES[code]).tobytes()
    with atomic_write(path) as handle:
        if gzip:
            # mtime=0 keeps the bytes reproducible, so tests can pin checksums.
            with gzip_module.GzipFile(fileobj=handle, mode="wb", mtime=0) as stream:
                stream.write(header + payload)
        else:
            handle.write(header + payload)


def _parse(path: Path, stream, available: int | None, max_bytes: int,
           gzip_capacity: int | None = None) -> numpy.ndarray:
    """Parse an IDX stream; ``available`` is its size in bytes when known up front (a raw
    file), ``gzip_capacity`` the most a gzip file of its size can decompress to. A header
    that declares more than either, or more than ``max_bytes``, is refused before reading."""
    magic = stream.read(4)
    if len(magic) < 4 or magic[:2] != b"\x00\x00":
        raise DataFormatError(
            f"{path}: not an IDX file: expected magic bytes 00 00 <type> <ndim>, found {magic.hex(' ') or 'an empty file'}"
        )
    code, ndim = magic[2], magic[3]
    if code not in TYPE_CODES:
        known = ", ".join(f"0x{c:02X} ({d.name})" for c, d in TYPE_CODES.items())
        raise DataFormatError(f"{path}: unknown IDX type code 0x{code:02X}: expected one of {known}")
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataFormatError(
            f"{path}: truncated IDX header: expected {4 * ndim} bytes of sizes for {ndim} dimensions, "
            f"found {len(dims)}"
        )
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = TYPE_CODES[code]
    expected = int(numpy.prod(shape, dtype=object)) * dtype.itemsize
    if available is not None and available - 4 - 4 * ndim < expected:
        found = available - 4 - 4 * ndim
        raise DataFormatError(_truncated(path, expected, found, dtype, shape))
    if gzip_capacity is not None and 4 + 4 * ndim + expected > gzip_capacity:
        raise DataFormatError(
            _truncated(path, expected, None, dtype, shape)
            + f": a gzip file of its size decompresses to at most {gzip_capacity} bytes"
        )
    if expected > max_bytes:
        raise DataFormatError(
            f"{path}: IDX header declares shape {shape} of {dtype.name}, {expected} bytes: more than the "
            f"{max_bytes} this file may hold (pass read_idx(path, max_bytes=...) for larger files)"
        )
    payload = _read_exactly(stream, expected)
    if len(payload) < expected:
        raise DataFormatError(_truncated(path, expected, len(payload), dtype, shape))
    if stream.read(1):
        raise DataFormatError(
            f"{path}: trailing bytes: expected the file to end after {expected} bytes of "
            f"{dtype.name} data for shape {shape}, found more"
        )
    try:
        values = numpy.frombuffer(payload, dtype=dtype).reshape(shape)
    except ValueError:
        # Only an empty payload gets here: a zero size next to sizes whose product NumPy cannot index.
        raise DataFormatError(f"{path}: IDX header claims shape {shape}, which is too big for an array") from None
    return values.astype(dtype.newbyteorder("="), copy=False)


def _read_exactly(stream, size: int) -> bytearray:
    # Read in chunks rather than read(size): a corrupt header may claim terabytes,
    # and read(size) would try to allocate them before finding the file is short.
    payload = bytearray()
    while len(payload) < size:
        chunk = stream.read(min(_CHUNK, size - len(payload)))
        if not chunk:
            break
        payload += chunk
    return payload


def _truncated(path: Path, expected: int, found: int | None, dtype, shape) -> str:
    message = f"{path}: truncated IDX payload: expected {expected} bytes of {dtype.name} data for shape {shape}"
    return message if found is None else f"{message}, found {found}"
