"""load_mnist_pickle: the classic format loads; a pickle that would run code is refused
before anything runs."""
import gzip
import io
import os
import pickle
import struct

import numpy
import pytest

from chainrule import data


class _Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` (BINSTRING opcodes), as the classic file has them."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_python2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def classic_pickle(content) -> bytes:
    """``content`` pickled the way Python 2 and NumPy 1.x wrote mnist.pkl.gz."""
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(content)
    # GLOBAL opcodes are newline-terminated text, so renaming the module is a plain swap.
    return buffer.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def splits():
    rng = numpy.random.default_rng(0)
    return tuple(
        (rng.random((n, 784), dtype=numpy.float32), numpy.arange(n, dtype=numpy.int64) % 10)
        for n in (5, 3, 4)
    )


def test_loads_the_classic_python2_format(tmp_path):
    expected = splits()
    raw = classic_pickle(expected)
    assert b"numpy.core.multiarray\n_reconstruct" in raw and pickle.SHORT_BINSTRING in raw and b"_codecs" not in raw
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(raw))
    loaded = data.load_mnist_pickle(path)
    assert len(loaded) == 3
    for (x, y), (ex, ey) in zip(loaded, expected):
        assert x.dtype == numpy.float32 and x.shape == ex.shape
        numpy.testing.assert_array_equal(x, ex)
        assert y.dtype == numpy.int64 and y.tolist() == ey.tolist()


def test_loads_a_python3_protocol2_pickle_uncompressed(tmp_path):
    expected = splits()
    path = tmp_path / "mnist.pkl"
    path.write_bytes(pickle.dumps(expected, protocol=2))
    assert b"_codecs\nencode" in path.read_bytes()
    loaded = data.load_mnist_pickle(path)
    numpy.testing.assert_array_equal(loaded[2][0], expected[2][0])


def test_int32_labels_come_back_as_int64(tmp_path):
    x = numpy.zeros((2, 784), dtype=numpy.float32)
    content = tuple((x, numpy.array([1, 2], dtype=numpy.int32)) for _ in range(3))
    path = tmp_path / "mnist.pkl"
    path.write_bytes(classic_pickle(content))
    assert data.load_mnist_pickle(path)[0][1].dtype == numpy.int64


class _RunsAShellCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_runs_a_shell_command_is_refused_and_nothing_runs(tmp_path):
    control = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(_RunsAShellCommand(control), protocol=2))
    assert control.exists(), "the payload must be live for this test to mean anything"

    marker = tmp_path / "marker"
    x, y = splits()[0]
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(classic_pickle(((x, y), (x, y), (_RunsAShellCommand(marker), y)))))
    with pytest.raises(data.DataFormatError) as info:
        data.load_mnist_pickle(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert f"refused to unpickle {os.system.__module__}.system" in message
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload, refused",
    [
        (pickle.dumps(eval, protocol=2), "refused to unpickle __builtin__.eval"),
        (b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R.", "codec 'rot13' is not allowed"),
        (b"\x80\x02cnumpy\nload\n.", "numpy.load"),
    ],
)
def test_names_beyond_array_rebuilding_are_refused(tmp_path, payload, refused):
    path = tmp_path / "evil.pkl"
    path.write_bytes(payload)
    with pytest.raises(data.DataFormatError, match=refused) as info:
        data.load_mnist_pickle(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "content, phrase",
    [
        ({"x": 1}, "expected ((x_train, y_train), (x_valid, y_valid), (x_test, y_test)), found dict"),
        ((1, 2, 3), "expected the train split as a pair (x, y), found int"),
        (((numpy.zeros(3, numpy.float32), numpy.zeros(3, numpy.int64)),) * 3, "expected train x as a 2-D float array"),
        (((numpy.zeros((3, 784), numpy.float32), numpy.zeros(3, numpy.float32)),) * 3, "expected train y as a 1-D integer array"),
        (((numpy.zeros((3, 784), numpy.float32), numpy.zeros(2, numpy.int64)),) * 3, "train split has 3 images but 2 labels"),
    ],
)
def test_other_layouts_are_refused(tmp_path, content, phrase):
    path = tmp_path / "odd.pkl"
    path.write_bytes(classic_pickle(content))
    with pytest.raises(data.DataFormatError) as info:
        data.load_mnist_pickle(path)
    assert phrase in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("cut", [10, 200])
def test_a_truncated_file_is_a_data_format_error(tmp_path, cut):
    path = tmp_path / "cut.pkl.gz"
    path.write_bytes(gzip.compress(classic_pickle(splits()))[:-cut])
    with pytest.raises(data.DataFormatError, match="not a readable MNIST pickle") as info:
        data.load_mnist_pickle(path)
    assert str(path) in str(info.value)


# -- hostile files: what the loader refuses before it builds anything --------------------------
class _CraftedArray:
    """Pickles as NumPy's own ``_reconstruct`` + BUILD recipe, with a state of our choosing."""

    def __init__(self, shape, dtype, raw: bytes, fortran: bool = False):
        self.state = (1, shape, numpy.dtype(dtype), fortran, raw)

    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct
        return _reconstruct, (numpy.ndarray, (0,), b"b"), self.state


class _CallsNdarray:
    """Pickles as ``numpy.ndarray(shape, dtype, buffer, offset, strides)``: a view with strides of
    our choosing over a buffer of our choosing."""

    def __init__(self, shape, strides, raw: bytes):
        self.arguments = (shape, numpy.dtype(numpy.float32), raw, 0, strides)

    def __reduce__(self):
        return numpy.ndarray, self.arguments


def write_splits(tmp_path, first_x, name="hostile.pkl"):
    """A pickle whose train x is ``first_x`` and the rest well-formed."""
    x, y = splits()[0]
    path = tmp_path / name
    path.write_bytes(pickle.dumps(((first_x, numpy.zeros(64, numpy.int64)), (x, y), (x, y)), protocol=3))
    return path


@pytest.mark.parametrize("first_x, phrase", [
    (_CallsNdarray((64, 784), (3136, 4), b"\0" * 256), "refused to call numpy.ndarray"),
    (_CallsNdarray((10_000_000, 100_000), (0, 0), b"\0" * 4), "refused to call numpy.ndarray"),
    (_CraftedArray((64, 784), numpy.float32, b"\0" * 256), "needs 200704 bytes, its data has 256"),
    (_CraftedArray((10_000_000, 100_000), numpy.float32, b"\0" * 4), "its data has 4"),
    (_CraftedArray((64, 784), object, b"\0" * 8), "not a numeric dtype"),
    (_CraftedArray((64, 784), [("a", "<f4")], b"\0" * 8), "not a numeric dtype"),
    (_CraftedArray((64, -784), numpy.float32, b""), "malformed array shape"),
])
def test_arrays_whose_memory_the_pickle_could_shape_are_refused(tmp_path, first_x, phrase):
    path = write_splits(tmp_path, first_x)
    with pytest.raises(data.DataFormatError, match=phrase) as info:
        data.load_mnist_pickle(path)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize("fortran", [False, True])
def test_every_array_owns_exactly_its_bytes(tmp_path, fortran):
    values = numpy.arange(64 * 784, dtype=numpy.float32).reshape(64, 784)
    raw = (numpy.asfortranarray(values) if fortran else values).tobytes(order="F" if fortran else "C")
    path = write_splits(tmp_path, _CraftedArray((64, 784), ">f4" if fortran else "<f4",
                                                 values.astype(">f4" if fortran else "<f4").tobytes(
                                                     order="F" if fortran else "C"), fortran))
    assert len(raw) == values.nbytes
    x = data.load_mnist_pickle(path)[0][0]
    numpy.testing.assert_array_equal(x, values)
    assert x.flags.owndata and x.flags.writeable and x.dtype == numpy.float32
    assert x.flags.f_contiguous if fortran else x.flags.c_contiguous
    assert x.nbytes == 64 * 784 * 4
    x[...] = 1.0  # writable memory of its own: the interpreter survives


def _stand_in_states() -> dict:
    from chainrule.data import mnist_pickle
    return {name: (type(obj).__qualname__, type(obj).__doc__) for name, obj in mnist_pickle._STAND_INS.items()}


@pytest.mark.parametrize("target", [b"c_codecs\nencode\n", b"cnumpy\ndtype\n", b"cnumpy\nndarray\n",
                                    b"cnumpy.core.multiarray\n_reconstruct\n"])
@pytest.mark.parametrize("state", [
    b"}X\x0c\x00\x00\x00__qualname__X\x05\x00\x00\x00pwneds",          # {'__qualname__': 'pwned'}
    b"N}X\x07\x00\x00\x00__doc__X\x05\x00\x00\x00pwneds\x86",          # (None, {'__doc__': 'pwned'}) slot state
    b"}X\x08\x00\x00\x00__dict__}s",                                    # {'__dict__': {}}
])
def test_build_cannot_set_attributes_on_the_loaders_objects(tmp_path, target, state):
    before = _stand_in_states()
    functions = {name: (f.__qualname__, f.__doc__, f.__defaults__)
                 for name, f in vars(data.mnist_pickle).items() if callable(f) and hasattr(f, "__defaults__")}
    path = tmp_path / "build.pkl"
    path.write_bytes(b"\x80\x02" + target + state + b"b.")
    with pytest.raises(data.DataFormatError, match="refused BUILD"):
        data.load_mnist_pickle(path)
    assert _stand_in_states() == before
    assert functions == {name: (f.__qualname__, f.__doc__, f.__defaults__)
                         for name, f in vars(data.mnist_pickle).items() if callable(f) and hasattr(f, "__defaults__")}


def test_a_gzip_whose_crc_fails_is_refused(tmp_path):
    packed = bytearray(gzip.compress(classic_pickle(splits())))
    packed[-8] ^= 0x01  # the CRC-32 of the uncompressed bytes, in the gzip trailer
    path = tmp_path / "crc.pkl.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(data.DataFormatError, match="CRC check failed"):
        data.load_mnist_pickle(path)


def test_a_changed_pixel_is_caught_by_the_crc(tmp_path):
    raw = classic_pickle(splits())
    changed = bytearray(raw)
    changed[len(raw) // 2] ^= 0x40  # inside the train images' bytes
    packed = bytearray(gzip.compress(bytes(changed)))
    packed[-8:-4] = gzip.compress(raw)[-8:-4]  # the CRC of the original: the file lies about its content
    path = tmp_path / "pixel.pkl.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(data.DataFormatError, match="CRC check failed"):
        data.load_mnist_pickle(path)


@pytest.mark.parametrize("trailing", [b"\x00", b"junk after the pickle", pickle.dumps(1, protocol=2)])
@pytest.mark.parametrize("compressed", [False, True])
def test_bytes_after_the_pickles_stop_are_refused(tmp_path, trailing, compressed):
    raw = classic_pickle(splits()) + trailing
    path = tmp_path / "trailing.pkl"
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    with pytest.raises(data.DataFormatError, match="trailing bytes after the pickle's end"):
        data.load_mnist_pickle(path)


def test_garbage_after_the_gzip_stream_is_refused(tmp_path):
    path = tmp_path / "garbage.pkl.gz"
    path.write_bytes(gzip.compress(classic_pickle(splits())) + b"garbage")
    with pytest.raises(data.DataFormatError, match="corrupt gzip stream"):
        data.load_mnist_pickle(path)


@pytest.mark.parametrize("payload, phrase", [
    (b"\x80\x02Nr" + struct.pack("<I", 100_000_000) + b".", "memo index 100000000"),   # LONG_BINPUT
    (b"\x80\x02Np100000000\n.", "memo index 100000000"),                                 # PUT
    (b"\x80\x04\x8e" + struct.pack("<Q", 800_000_000) + b"tiny.", "not a readable MNIST pickle"),  # BINBYTES8
    (b"\x80\x04\x8d" + struct.pack("<Q", 800_000_000) + b"tiny.", "not a readable MNIST pickle"),  # BINUNICODE8
    (b"\x80\x02B" + struct.pack("<I", 800_000_000) + b"tiny.", "not a readable MNIST pickle"),     # BINBYTES
])
def test_small_files_cannot_make_the_loader_allocate(tmp_path, payload, phrase):
    import tracemalloc

    path = tmp_path / "tiny.pkl"
    path.write_bytes(payload)
    tracemalloc.start()
    try:
        with pytest.raises(data.DataFormatError, match=phrase):
            data.load_mnist_pickle(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"a {len(payload)}-byte file made the loader allocate {peak} bytes"


@pytest.mark.parametrize("opcode, phrase", [
    (b"\x80\x02cnumpy\nndarray\n)\x81.", "refused pickle opcode NEWOBJ"),
    (b"\x80\x02(cnumpy\ndtype\no.", "refused pickle opcode OBJ"),
    (b"\x80\x02\x82\x01.", "refused pickle opcode EXT1"),
    (b"\x80\x02P0\n.", "refused pickle opcode PERSID"),
])
def test_opcodes_that_call_without_reduce_are_refused(tmp_path, opcode, phrase):
    path = tmp_path / "opcode.pkl"
    path.write_bytes(opcode)
    with pytest.raises(data.DataFormatError, match=phrase):
        data.load_mnist_pickle(path)


def test_a_decompression_bomb_is_stopped_at_the_limit(tmp_path):
    path = tmp_path / "bomb.pkl.gz"
    path.write_bytes(gzip.compress(classic_pickle(splits())))
    assert len(data.load_mnist_pickle(path)) == 3
    with pytest.raises(data.DataFormatError, match="decompresses to more than the 1000 bytes"):
        data.load_mnist_pickle(path, max_bytes=1000)
    raw = tmp_path / "big.pkl"
    raw.write_bytes(classic_pickle(splits()))
    with pytest.raises(data.DataFormatError, match="more than the 1000 an MNIST pickle may hold"):
        data.load_mnist_pickle(raw, max_bytes=1000)
