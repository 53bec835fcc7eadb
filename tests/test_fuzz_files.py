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
    return "result"


def test_load_checkpoint_survives_random_and_mutated_bytes():
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        outcomes = run_fuzz(checkpoint_seeds(directory), directory / "fuzzed.npz", load_checkpoint_outcome,
                            crafted_npz())
    assert sum(outcomes.values()) >= MIN_EXAMPLES, outcomes
    assert outcomes["result"] and outcomes["documented error"], outcomes
