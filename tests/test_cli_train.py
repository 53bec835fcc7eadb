"""`chainrule train` / `chainrule evaluate` as a user runs them, in a subprocess.

Interrupting with Ctrl-C (SIGINT) or SIGTERM exits 130 / 143 after saving a
checkpoint and saying how to resume; `--resume` then ends with exactly the weights of
an uninterrupted run.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from chainrule.train import load_checkpoint
from synthetic import write_fashion_like

EPOCHS = 40
RECIPE = ["--epochs", str(EPOCHS), "--hidden", "32", "--batch-size", "64", "--no-progress"]


def chainrule(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "chainrule.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_fashion_like(tmp_path_factory.mktemp("fashion"))


@pytest.fixture(scope="module")
def uninterrupted(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    process = chainrule("train", "--data-root", str(data_root), "--out", str(out), *RECIPE)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    return out, stdout


def test_train_prints_the_table_and_evaluate_agrees(uninterrupted, data_root):
    out, stdout = uninterrupted
    assert "train loss" in stdout and "test acc" in stdout
    accuracy = float(stdout.rsplit("test accuracy ", 1)[1].split("%")[0])
    assert accuracy > 90  # chance is 10%
    process = chainrule("evaluate", str(out / "checkpoint.npz"), "--data-root", str(data_root))
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert f"accuracy {accuracy:.2f}%" in stdout


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_then_resume_matches_an_uninterrupted_run(signum, uninterrupted, data_root, tmp_path):
    out = tmp_path / "run"
    process = chainrule("train", "--data-root", str(data_root), "--out", str(out), *RECIPE)
    for line in process.stdout:  # interrupt once training is under way
        if line.split()[:1] == ["3"]:
            break
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, stderr
    assert f"--resume {out / 'checkpoint.npz'}" in stderr
    stopped_at = load_checkpoint(out / "checkpoint.npz")[2]
    assert stopped_at["epoch"] < EPOCHS

    process = chainrule("train", "--data-root", str(data_root), "--out", str(out),
                        "--resume", str(out / "checkpoint.npz"), "--no-progress")
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    resumed, expected = load_checkpoint(out / "checkpoint.npz")[0], load_checkpoint(uninterrupted[0] / "checkpoint.npz")[0]
    assert resumed.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(resumed[name], expected[name], err_msg=name)


def test_evaluate_names_a_corrupt_checkpoint(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not a checkpoint")
    process = chainrule("evaluate", str(path))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "bad.npz" in stderr
