"""SIGKILL a training process while it writes checkpoints, many times, at random moments:
the previous checkpoint always loads, whole, and temporary files never pile up.

A child process trains an MLP and writes a checkpoint after every step (resuming
from the last one when it starts), telling the parent through a pipe when it starts
and when it finishes writing each one. The parent lets it write a random number of
checkpoints, then kills it with SIGKILL at a random moment of the next write, and
checks the oracle:

- the checkpoint loads, and it is the last one the child reported or the one after
  (killed between the rename and the report);
- its arrays hash to the digest the child stored in it before writing (no mix of
  two checkpoints, no torn array);
- at most one temporary file is left in the directory (the one the kill cut off).

Children are forked from the test process (a fresh interpreter per kill would
spend its time importing); each ends with ``os._exit`` and never returns to pytest.
"""
from __future__ import annotations

import hashlib
import os
import select
import signal
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import load_checkpoint, save_checkpoint

KILLS = 30
STARTUP_TIMEOUT_SECONDS = 60
RECORD = 9  # bytes per report: b"W" (about to write) or b"D" (done), then the step, little-endian

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork() and SIGKILL")


def digest(model_state: dict, optim_state: dict) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes."""
    hasher = hashlib.sha256()
    for prefix, state in (("model", model_state), ("optim", optim_state)):
        for name in sorted(state):
            array = np.ascontiguousarray(state[name])
            hasher.update(f"{prefix}/{name}:{array.dtype.str}:{array.shape}".encode())
            hasher.update(array.tobytes())
    return hasher.hexdigest()


def report(fd: int, kind: bytes, step: int) -> None:
    os.write(fd, kind + step.to_bytes(RECORD - 1, "little"))


def train_and_checkpoint_forever(path, report_fd: int) -> None:
    """The child: resume from ``path`` if it exists, then train and checkpoint every step."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))  # 1.6 MB, ×2 with momentum
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    step = 0
    if path.exists():
        model_state, optim_state, meta = load_checkpoint(path)
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optim.unflatten_state(optim_state))
        step = meta["step"]
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal((16, 784)).astype(np.float32))
    y = rng.integers(0, 10, 16)
    loss_fn = nn.CrossEntropyLoss()
    while True:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        step += 1
        model_state = model.state_dict()
        optim_state = optim.flatten_state(optimizer.state_dict())
        meta = {"step": step, "digest": digest(model_state, optim_state)}
        report(report_fd, b"W", step)
        save_checkpoint(path, model_state, optim_state, meta)
        report(report_fd, b"D", step)


def start_child(path):
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest, whatever happens
        try:
            os.close(read_fd)
            train_and_checkpoint_forever(path, write_fd)
        finally:
            os._exit(1)
    os.close(write_fd)
    return pid, read_fd


def next_report(read_fd: int, timeout: float) -> tuple[bytes, int, float]:
    """(kind, step, time received) of the child's next report, waiting up to ``timeout`` s."""
    ready, _, _ = select.select([read_fd], [], [], timeout)
    assert ready, f"the child sent no report within {timeout} s"
    record = os.read(read_fd, RECORD)
    assert len(record) == RECORD, "the child died on its own"
    return record[:1], int.from_bytes(record[1:], "little"), time.perf_counter()


def remaining_reports(read_fd: int) -> list[tuple[bytes, int]]:
    """Every report still in the pipe (the child is dead: the pipe ends)."""
    reports = []
    while record := os.read(read_fd, RECORD):
        reports.append((record[:1], int.from_bytes(record[1:], "little")))
    return reports


def temporaries(directory, name: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != name)


def test_sigkill_during_checkpoint_writes_never_loses_the_previous_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.npz"
    rng = np.random.default_rng(2024)
    last_step, cut_mid_write, write_seconds = 0, 0, [0.005]
    for kill in range(KILLS):
        pid, read_fd = start_child(path)
        reports = []
        try:
            # Let it write 0–2 checkpoints whole (at least one the first time: there must be
            # a previous checkpoint), then kill it at a random moment of the next write.
            writes_to_finish = rng.integers(0 if path.exists() else 1, 3)
            while True:
                kind, step, received = next_report(read_fd, STARTUP_TIMEOUT_SECONDS)
                reports.append((kind, step))
                if kind == b"D":
                    write_seconds.append(received - began)
                elif writes_to_finish == 0:
                    break
                else:
                    began = received
                    writes_to_finish -= 1
            time.sleep(rng.uniform(0, float(np.median(write_seconds))))
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        reports += remaining_reports(read_fd)
        os.close(read_fd)
        finished = [step for kind, step in reports if kind == b"D"]
        assert finished == list(range(last_step + 1, last_step + 1 + len(finished))), "steps skipped or repeated"
        reported = finished[-1] if finished else last_step

        model_state, optim_state, meta = load_checkpoint(path)
        assert meta["step"] in (reported, reported + 1), \
            f"kill {kill}: checkpoint of step {meta['step']}, last reported {reported}"
        assert digest(model_state, optim_state) == meta["digest"], f"kill {kill}: a torn checkpoint"
        left = temporaries(tmp_path, path.name)
        assert len(left) <= 1, f"kill {kill}: temporary files pile up: {left}"
        cut_mid_write += len(left)
        last_step = meta["step"]

    print(f"{KILLS} SIGKILLs, {cut_mid_write} of them in the middle of writing a checkpoint, "
          f"{last_step} checkpoints written")
    assert cut_mid_write >= KILLS // 3, f"only {cut_mid_write} of {KILLS} kills landed mid-write"


def dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_the_next_write_removes_only_temporaries_of_dead_writers(tmp_path):
    path = tmp_path / "checkpoint.npz"
    abandoned = tmp_path / f".checkpoint.npz.{dead_pid()}.abc123.tmp"
    live = tmp_path / f".checkpoint.npz.{os.getpid()}.def456.tmp"  # a writer still at work
    other = tmp_path / f".other.npz.{dead_pid()}.ghi789.tmp"  # another destination's business
    for temporary in (abandoned, live, other):
        temporary.write_bytes(b"half a checkpoint")
    save_checkpoint(path, {"w": np.ones(2)}, meta={"step": 1})
    assert temporaries(tmp_path, path.name) == sorted([live.name, other.name])
    assert load_checkpoint(path)[2] == {"step": 1}
