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
