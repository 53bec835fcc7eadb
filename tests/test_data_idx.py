"""read_idx / write_idx: bytes laid out by hand, round trips, and every way a file can be bad."""
import gzip
import struct

import numpy
import pytest

from chainrule import data

DTYPES = {
    0x08: numpy.uint8,
    0x09: numpy.int8,
    0x0B: numpy.int16,
    0x0C: numpy.int32,
    0x0D: numpy.float32,
    0x0E: numpy.float64,
}


def idx_bytes(code: int, shape: tuple, payload: bytes) -> bytes:
    """An IDX file laid out by hand: 00 00 code ndim, big-endian sizes, payload."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def test_reads_a_file_laid_out_by_hand(tmp_path):
    path = tmp_path / "hand.idx"
    path.write_bytes(idx_bytes(0x0B, (2, 2), bytes.fromhex("0001 FFFE 7FFF 8000")))
    array = data.read_idx(path)
    assert array.dtype == numpy.int16
    assert array.tolist() == [[1, -2], [32767, -32768]]


def test_writes_the_exact_bytes_of_the_format(tmp_path):
    path = tmp_path / "out.idx"
    data.write_idx(path, numpy.array([[1, 2, 3], [4, 5, 6]], dtype=numpy.uint8))
    assert path.read_bytes() == bytes.fromhex("00000802 00000002 00000003 010203040506")
    data.write_idx(path, numpy.array([1.5, -2.0], dtype=numpy.float32))
    assert path.read_bytes() == bytes.fromhex("00000D01 00000002 3FC00000 C0000000")


@pytest.mark.parametrize("code", sorted(DTYPES))
@pytest.mark.parametrize("compressed", [False, True])
def test_round_trip_every_type_code(tmp_path, code, compressed):
    dtype = numpy.dtype(DTYPES[code])
    if dtype.kind == "f":
        array = numpy.array([[-1.5, 0.0, 3.25], [1e-3, -7.0, 2.0]], dtype=dtype)
    else:
        info = numpy.iinfo(dtype)
        array = numpy.array([[info.min, 0, info.max], [1, 2, 3]], dtype=dtype)
    path = tmp_path / "a.idx"
    data.write_idx(path, array, gzip=compressed)
    raw = gzip.decompress(path.read_bytes()) if compressed else path.read_bytes()
    assert raw[:4] == bytes([0, 0, code, 2])
    back = data.read_idx(path)
    assert back.dtype == dtype and back.dtype.isnative
    assert back.flags.writeable
    numpy.testing.assert_array_equal(back, array)


def test_gzip_is_recognised_by_content_not_by_name(tmp_path):
    array = numpy.arange(12, dtype=numpy.uint8).reshape(3, 4)
    gz_named_plain = tmp_path / "images.idx"
    plain_named_gz = tmp_path / "images.idx.gz"
    data.write_idx(gz_named_plain, array, gzip=True)
    data.write_idx(plain_named_gz, array, gzip=False)
    assert gz_named_plain.read_bytes()[:2] == b"\x1f\x8b"
    numpy.testing.assert_array_equal(data.read_idx(gz_named_plain), array)
    numpy.testing.assert_array_equal(data.read_idx(plain_named_gz), array)


def test_one_dimensional_and_empty_arrays(tmp_path):
    path = tmp_path / "labels.idx"
    data.write_idx(path, numpy.array([9, 0, 4], dtype=numpy.uint8))
    assert data.read_idx(path).tolist() == [9, 0, 4]
    data.write_idx(path, numpy.zeros((0, 28, 28), dtype=numpy.uint8))
    assert data.read_idx(path).shape == (0, 28, 28)


GOOD = idx_bytes(0x08, (2, 3), bytes(range(6)))
BAD_FILES = {
    "wrong magic": (b"\x01\x00" + GOOD[2:], ["expected magic bytes 00 00 <type> <ndim>", "found 01 00 08 02"]),
    "empty": (b"", ["expected magic bytes", "found an empty file"]),
    "unknown type code": (GOOD[:2] + b"\x0a" + GOOD[3:], ["unknown IDX type code 0x0A", "expected one of 0x08 (uint8)"]),
    "truncated header": (GOOD[:9], ["truncated IDX header", "expected 8 bytes", "found 5"]),
    "truncated payload": (GOOD[:-2], ["truncated IDX payload", "expected 6 bytes of uint8 data", "(2, 3)", "found 4"]),
    "trailing garbage": (GOOD + b"junk", ["trailing bytes", "end after 6 bytes"]),
}


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("problem", sorted(BAD_FILES))
def test_bad_files_raise_data_format_error_naming_the_file(tmp_path, problem, compressed):
    content, phrases = BAD_FILES[problem]
    path = tmp_path / f"{problem.replace(' ', '-')}.idx"
    path.write_bytes(gzip.compress(content) if compressed else content)
    with pytest.raises(data.DataFormatError) as info:
        data.read_idx(path)
    message = str(info.value)
    assert message.startswith(str(path))
    for phrase in phrases:
        assert phrase in message


def test_data_format_error_is_the_one_from_chainrule_errors():
    from chainrule.errors import DataFormatError

    assert data.DataFormatError is DataFormatError


def test_corrupt_gzip_stream_is_named(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(GOOD * 50)[:-30])
    with pytest.raises(data.DataFormatError, match="truncated or corrupt gzip stream") as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_header_claiming_terabytes_fails_fast_as_truncated(tmp_path, compressed):
    content = idx_bytes(0x0E, (60000, 60000, 60000), b"\x00" * 64)
    path = tmp_path / "huge.idx"
    path.write_bytes(gzip.compress(content) if compressed else content)
    with pytest.raises(data.DataFormatError, match="truncated IDX payload: expected 1728000000000000 bytes"):
        data.read_idx(path)


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.idx"):
        data.read_idx(tmp_path / "nowhere.idx")


@pytest.mark.parametrize("dtype", [numpy.int64, numpy.bool_, numpy.complex64, numpy.uint16])
def test_write_idx_rejects_types_idx_cannot_hold_and_leaves_the_old_file(tmp_path, dtype):
    path = tmp_path / "keep.idx"
    data.write_idx(path, numpy.array([1, 2], dtype=numpy.uint8))
    before = path.read_bytes()
    with pytest.raises(ValueError, match=f"IDX cannot store dtype {numpy.dtype(dtype)}"):
        data.write_idx(path, numpy.array([1, 2], dtype=dtype))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.idx"]


def test_a_gzip_bomb_header_is_refused_before_decompressing(tmp_path):
    import tracemalloc

    # (1, 32768, 65536) bytes = 2 GiB of zeros would compress to about 2 MB; this file holds 64 KiB.
    content = idx_bytes(0x08, (1, 32768, 65536), b"\x00" * 65536)
    path = tmp_path / "bomb.idx.gz"
    path.write_bytes(gzip.compress(content))
    tracemalloc.start()
    try:
        with pytest.raises(data.DataFormatError, match="decompresses to at most"):
            data.read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


@pytest.mark.parametrize("compressed", [False, True])
def test_a_declared_size_beyond_the_limit_is_refused(tmp_path, compressed):
    content = idx_bytes(0x08, (64, 64), b"\x07" * 4096)
    path = tmp_path / "limited.idx"
    path.write_bytes(gzip.compress(content) if compressed else content)
    assert data.read_idx(path).shape == (64, 64)
    with pytest.raises(data.DataFormatError, match=r"declares shape \(64, 64\) of uint8, 4096 bytes: more than the 4000"):
        data.read_idx(path, max_bytes=4000)
