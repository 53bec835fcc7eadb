"""Untrusted files: random and mutated bytes thrown at ``data.read_idx`` and at
``train.load_checkpoint``.

Oracle: every outcome is a result of the promised kind (an array; three dicts of
arrays and a JSON object) or the documented error naming the file
(``DataFormatError``, ``CheckpointError``); never another exception, never a hang
(a watchdog fails any example that runs longer than WATCHDOG_SECONDS).

Inputs: valid small files (raw and gzipped IDX of every type code; real
checkpoints of a model and its optimizer, a lone .npy, a pickle) mutated by
flipping bits, overwriting, inserting and deleting bytes, truncating, appending,
and replacing runs of ASCII digits with large numbers; plain random bytes; and
files crafted to be well-formed containers that lie inside (IDX headers with any
type code, rank and sizes; zips with valid CRCs whose .npy headers claim object
dtypes or absurd shapes, whose members are not arrays, whose metadata is not a
JSON object). Each target runs at least MIN_EXAMPLES examples.
"""
from __future__ import annotations

import contextlib
import gzip
import io
import pickle
import signal
import struct
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.train import load_checkpoint, save_checkpoint

MIN_EXAMPLES = 2000
WATCHDOG_SECONDS = 20
FUZZ = settings(max_examples=MIN_EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Hang(Exception):
    pass


@contextlib.contextmanager
def watchdog(seconds: int):
    """Fail (raise Hang) if the block runs longer than ``seconds``: a parser must never hang."""
    def expire(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """One of ``seeds`` with 1–6 random edits."""
    content = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        edit = draw(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate", "append", "digits"]))
        at = draw(st.integers(0, max(len(content) - 1, 0)))
        if edit == "flip" and content:
            content[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "overwrite" and content:
            content[at] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255))]))
        elif edit == "insert":
            content[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "delete":
            del content[at:at + draw(st.integers(1, 16))]
        elif edit == "truncate":
            del content[at:]
        elif edit == "append":
            content += draw(st.binary(min_size=1, max_size=64))
        elif edit == "digits":
            digits = [i for i, byte in enumerate(content) if 0x30 <= byte <= 0x39]
            if digits:
                start = draw(st.sampled_from(digits))
                end = start
                while end < len(content) and 0x30 <= content[end] <= 0x39:
                    end += 1
                content[start:end] = str(draw(st.sampled_from([0, 1, 2**31, 2**32 + 1, 10**12, 10**20]))).encode()
    return bytes(content)


def fuzz_bytes(seeds: list[bytes], *crafted):
    return st.one_of(mutated(seeds), st.binary(max_size=512), st.sampled_from(seeds), *crafted)


def run_fuzz(seeds: list[bytes], path: Path, check, *crafted) -> dict:
    """Write each drawn input to ``path`` and call ``check(path)``; return outcome counts."""
    outcomes = {"result": 0, "documented error": 0}

    @FUZZ
    @given(fuzz_bytes(seeds, *crafted))
    def one(content: bytes):
        path.write_bytes(content)
        with watchdog(WATCHDOG_SECONDS):
            outcomes[check(path)] += 1

    one()
    return outcomes


# -- read_idx ----------------------------------------------------------------------------
IDX_ARRAYS = [
    np.arange(12, dtype=np.uint8).reshape(3, 2, 2),
    np.array([-3, 0, 5], dtype=np.int8),
    np.arange(6, dtype=np.int16).reshape(2, 3) - 2,
    np.array([[1 << 20, -7]], dtype=np.int32),
    np.array([0.5, -1e30, 1e-40], dtype=np.float32),
    np.array([[np.pi]], dtype=np.float64),
    np.zeros((0, 4), dtype=np.uint8),
]


def idx_seeds(directory: Path) -> list[bytes]:
    seeds = []
    for i, array in enumerate(IDX_ARRAYS):
        for gzip in (False, True):
            path = directory / f"seed{i}{'.gz' if gzip else ''}"
            data.write_idx(path, array, gzip=gzip)
            seeds.append(path.read_bytes())
    return seeds


@st.composite
def crafted_idx(draw) -> bytes:
    """An IDX header built field by field (any type code, rank and sizes), a payload of
    any length, raw or gzipped: lies about the payload's size reach every size check."""
    code = draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x0A, 0xFF]))
    sizes = draw(st.lists(st.sampled_from([0, 1, 2, 3, 255, 2**31, 2**32 - 1]), max_size=4))
    ndim = draw(st.sampled_from([len(sizes), len(sizes) + 1, 255]))
    header = bytes([0, 0, code, ndim]) + struct.pack(f">{len(sizes)}I", *sizes)
    content = header + draw(st.binary(max_size=64))
    return gzip.compress(content, mtime=0) if draw(st.booleans()) else content


def read_idx_outcome(path: Path) -> str:
    try:
        array = data.read_idx(path)
    except data.DataFormatError as error:
        assert str(path) in str(error), f"the error does not name the file: {error}"
        return "documented error"
    assert isinstance(array, np.ndarray)
    assert array.dtype in {np.dtype(t) for t in (np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64)}
    return "result"


def test_read_idx_survives_random_and_mutated_bytes():
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        outcomes = run_fuzz(idx_seeds(directory), directory / "fuzzed-idx", read_idx_outcome, crafted_idx())
    assert sum(outcomes.values()) >= MIN_EXAMPLES, outcomes
    assert outcomes["result"] and outcomes["documented error"], outcomes


# -- load_checkpoint -----------------------------------------------------------------------
def checkpoint_seeds(directory: Path) -> list[bytes]:
    """Real checkpoints: a model with a buffer, its optimizer's flat state, JSON metadata."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = model(cr.randn(5, 3)).sum()
    loss.backward()
    optimizer.step()
    seeds = []
    for i, meta in enumerate([{"epoch": 1, "step": 7, "history": [{"loss": 0.5}]}, {}]):
        path = directory / f"seed{i}.npz"
        save_checkpoint(path, model.state_dict(), optim.flatten_state(optimizer.state_dict()), meta)
        seeds.append(path.read_bytes())
    single = io.BytesIO()
    np.save(single, np.arange(6.0).reshape(2, 3))
    return seeds + [single.getvalue(), pickle.dumps({"model/w": np.ones(2)})]


def npy_bytes(descr: str, fortran: bool, shape, payload: bytes) -> bytes:
    """A .npy file with exactly this header, whatever it claims, and this payload."""
    header = ("{'descr': %r, 'fortran_order': %r, 'shape': %r, }" % (descr, fortran, shape)).encode("latin1")
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + payload


@st.composite
def crafted_npz(draw) -> bytes:
    """A well-formed zip (valid CRCs) of .npy members whose names, headers and payloads
    lie: object dtypes, absurd or negative shapes, short payloads, non-array members."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # duplicate member names are one of the lies
        for _ in range(draw(st.integers(0, 4))):
            name = draw(st.sampled_from(["meta.json.npy", "model/w.npy", "optim/0.step.npy", "extra.npy",
                                         "model/raw", "meta.json"]))
            if name.endswith(".npy"):
                descr = draw(st.sampled_from(["<f4", "<f8", "|u1", "<i8", "|O", "<U8", "|S3", "|b1", ">c16", "<m8[s]"]))
                shape = tuple(draw(st.lists(st.sampled_from([0, 1, 3, -1, 2**31, 10**12, 10**20]), max_size=3)))
                payload = draw(st.binary(max_size=64))
                archive.writestr(name, npy_bytes(descr, draw(st.booleans()), shape, payload))
            else:
                archive.writestr(name, draw(st.binary(max_size=32)))
        meta = draw(st.sampled_from(['{"epoch": 1}', "[1, 2]", "3.5", "null", "{", ""]))
        archive.writestr("meta.json.npy", npy_bytes("<U%d" % max(len(meta), 1), False, (),
                                                    meta.ljust(max(len(meta), 1)).encode("utf-32-le")))
    return buffer.getvalue()


@st.composite
def crafted_npz_sizes(draw) -> bytes:
    """Valid .npy members stored or deflated, whose zip headers may claim another size, and names
    that collide once NumPy strips ".npy" ("model/w" and "model/w.npy")."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")
        archive.writestr("meta.json.npy", npy_bytes("<U2", False, (), "{}".encode("utf-32-le")))
        for _ in range(draw(st.integers(1, 3))):
            name = draw(st.sampled_from(["model/w.npy", "model/w", "optim/0.step.npy", "model/b.npy"]))
            count = draw(st.sampled_from([0, 1, 5, 100_000]))
            array = np.zeros(count, np.float32) if draw(st.booleans()) else np.arange(count, dtype=np.float32)
            member = io.BytesIO()
            np.save(member, array)
            info = zipfile.ZipInfo(name)
            info.compress_type = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
            archive.writestr(info, member.getvalue())
    content = bytearray(buffer.getvalue())
    if draw(st.booleans()):  # lie about a size in a local or central header
        at = draw(st.sampled_from([i for i in range(len(content) - 3) if content[i:i + 2] == b"PK"] or [0]))
        offset = draw(st.sampled_from([18, 22, 20, 24]))
        if at + offset + 4 <= len(content):
            content[at + offset:at + offset + 4] = draw(st.sampled_from([0, 1, 2**31 - 1, 2**32 - 1])).to_bytes(4, "little")
    return bytes(content)


def load_checkpoint_outcome(path: Path) -> str:
    try:
        model_state, optim_state, meta = load_checkpoint(path)
    except cr.CheckpointError as error:
        assert str(path) in str(error), f"the error does not name the file: {error}"
        return "documented error"
    for state in (model_state, optim_state):
        assert isinstance(state, dict)
        assert all(isinstance(value, np.ndarray) and value.dtype != object for value in state.values())
    assert isinstance(meta, dict)
    with zipfile.ZipFile(path) as archive:  # nothing was chosen silently among duplicates
        keys = [name.removesuffix(".npy") for name in archive.namelist()]
    assert len(keys) == len(set(keys)), keys
    return "result"


def test_load_checkpoint_survives_random_and_mutated_bytes():
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        outcomes = run_fuzz(checkpoint_seeds(directory), directory / "fuzzed.npz", load_checkpoint_outcome,
                            crafted_npz(), crafted_npz_sizes())
    assert sum(outcomes.values()) >= MIN_EXAMPLES, outcomes
    assert outcomes["result"] and outcomes["documented error"], outcomes


# -- load_mnist_pickle ---------------------------------------------------------------------------
class ReconstructedArray:
    """Pickles as NumPy's ``_reconstruct`` + BUILD recipe with any state, true or not."""

    def __init__(self, state):
        self.state = state

    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct
        return _reconstruct, (np.ndarray, (0,), b"b"), self.state


class StridedView:
    """Pickles as a call of ``numpy.ndarray(shape, dtype, buffer, offset, strides)``."""

    def __init__(self, shape, strides, raw):
        self.arguments = (shape, np.dtype(np.float32), raw, 0, strides)

    def __reduce__(self):
        return np.ndarray, self.arguments


def mnist_like(rows: int, x=None) -> tuple:
    x = np.arange(rows * 784, dtype=np.float32).reshape(rows, 784) / 7 if x is None else x
    y = np.arange(rows, dtype=np.int64) % 10
    return ((x, y),) * 3


def pickle_seeds() -> list[bytes]:
    content = mnist_like(2)
    raw2, raw3 = pickle.dumps(content, protocol=2), pickle.dumps(content, protocol=3)
    return [raw2, raw3, gzip.compress(raw2, mtime=0), gzip.compress(raw3, mtime=0)]


BUILD_TARGETS = [b"c_codecs\nencode\n", b"cnumpy\ndtype\n", b"cnumpy\nndarray\n",
                 b"cnumpy.core.multiarray\n_reconstruct\n", b"cnumpy._core.multiarray\n_reconstruct\n"]
BUILD_STATES = [b"}X\x07\x00\x00\x00__doc__X\x01\x00\x00\x00xs", b"N}\x86", b"}", b"N"]


@st.composite
def crafted_pickles(draw) -> bytes:
    """The shapes of attack: BUILD on the loader's names, arrays whose declared shape, strides or
    dtype do not match their bytes, declared lengths and memo indices beyond the file, a corrupt
    gzip CRC, and bytes after STOP or after the gzip stream."""
    kind = draw(st.sampled_from(["build", "state", "strided", "lengths", "memo", "crc", "trailing"]))
    if kind == "build":
        content = b"\x80\x02" + draw(st.sampled_from(BUILD_TARGETS)) + draw(st.sampled_from(BUILD_STATES)) + b"b."
    elif kind == "state":
        shape = tuple(draw(st.lists(st.sampled_from([0, 1, 2, 784, -1, 10**7, 2**62]), min_size=1, max_size=3)))
        dtype = np.dtype(draw(st.sampled_from(["<f4", ">f8", "|u1", "|O", "<i8"])))
        raw = draw(st.binary(max_size=64)) if draw(st.booleans()) else bytes(8 * 784)
        state = (draw(st.sampled_from([1, 2])), shape, dtype, draw(st.booleans()), raw)
        content = pickle.dumps(mnist_like(1, ReconstructedArray(state)), protocol=draw(st.sampled_from([2, 3])))
    elif kind == "strided":
        strides = tuple(draw(st.lists(st.sampled_from([0, 4, -4, 3136, 2**40]), min_size=2, max_size=2)))
        shape = draw(st.sampled_from([(64, 784), (10_000_000, 100_000), (1, 784)]))
        content = pickle.dumps(mnist_like(1, StridedView(shape, strides, bytes(256))), protocol=3)
    elif kind == "lengths":
        opcode = draw(st.sampled_from([b"\x8e", b"\x8d", b"B", b"X", b"T"]))
        width = 8 if opcode in (b"\x8e", b"\x8d") else 4
        declared = draw(st.sampled_from([5, 2**20, 2**31 - 1, 800_000_000])).to_bytes(width, "little")
        content = b"\x80\x04" + opcode + declared + draw(st.binary(max_size=16)) + b"."
    elif kind == "memo":
        index = draw(st.sampled_from([0, 1, 2**20, 100_000_000, 2**32 - 1]))
        content = b"\x80\x02N" + draw(st.sampled_from([b"r" + index.to_bytes(4, "little"), b"p%d\n" % index,
                                                         b"q" + bytes([index % 256])])) + b"."
    elif kind == "crc":
        packed = bytearray(gzip.compress(pickle.dumps(mnist_like(1), protocol=2), mtime=0))
        packed[draw(st.integers(-8, -1))] ^= 1 << draw(st.integers(0, 7))
        content = bytes(packed)
    else:
        raw = pickle.dumps(mnist_like(1), protocol=2) + draw(st.binary(min_size=1, max_size=16))
        content = gzip.compress(raw, mtime=0) + draw(st.binary(max_size=8)) if draw(st.booleans()) else raw
    return content


def load_mnist_pickle_outcome(path: Path) -> str:
    try:
        splits = data.load_mnist_pickle(path)
    except data.DataFormatError as error:
        assert str(path) in str(error), f"the error does not name the file: {error}"
        return "documented error"
    assert len(splits) == 3
    for x, y in splits:
        for array in (x, y):
            assert isinstance(array, np.ndarray) and array.dtype.kind in "fiu"
            assert array.flags.owndata and array.flags.writeable, "an array must own its memory"
            assert array.flags.c_contiguous or array.flags.f_contiguous
            assert array.nbytes == array.size * array.itemsize
        x[...] = 0  # writing into it must not reach beyond its memory
    return "result"


def test_load_mnist_pickle_survives_hostile_pickles():
    from chainrule.data import mnist_pickle

    stand_ins = {name: (type(obj).__qualname__, type(obj).__doc__) for name, obj in mnist_pickle._STAND_INS.items()}
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        outcomes = run_fuzz(pickle_seeds(), directory / "fuzzed.pkl", load_mnist_pickle_outcome, crafted_pickles())
    assert sum(outcomes.values()) >= MIN_EXAMPLES, outcomes
    assert outcomes["result"] and outcomes["documented error"], outcomes
    assert stand_ins == {name: (type(obj).__qualname__, type(obj).__doc__)
                         for name, obj in mnist_pickle._STAND_INS.items()}
