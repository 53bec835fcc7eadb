"""Bad flags, misfit files, shared folders and missing data: ``chainrule train`` and
``chainrule evaluate`` answer with one line naming the problem and exit status 2, never a
traceback, and never train on data or with a recipe nobody asked for.

Oracle: the exit status, the one-line message (what it names), and what is on disk.
"""
from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from chainrule import cli, data, nn, optim
from chainrule.train import fit, load_checkpoint, save_checkpoint
from chainrule.train.lock import LOCK_NAME
from synthetic import write_fashion_like

QUICK = ["--epochs", "1", "--hidden", "16", "--batch-size", "64", "--no-progress"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_fashion_like(tmp_path_factory.mktemp("fashion"), train_count=256, test_count=64)


@pytest.fixture(scope="module")
def finished_run(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("finished")
    assert cli.main(["train", "--data-root", str(data_root), "--out", str(out), *QUICK]) == 0
    return out


def run_cli(capsys, *args) -> tuple[int, str]:
    status = cli.main(list(args))
    captured = capsys.readouterr()
    return status, captured.err


def assert_one_line_error(status: int, err: str, *phrases: str) -> None:
    assert status == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("chainrule "), err
    for phrase in phrases:
        assert phrase in lines[0], (phrase, err)


# -- bad flag values ---------------------------------------------------------------------------------
@pytest.mark.parametrize("flags, phrase", [
    (["--epochs", "0"], "epochs must be an integer of at least 1; got 0"),
    (["--batch-size", "0"], "batch_size must be an integer of at least 1; got 0"),
    (["--lr", "-1"], "lr must be a finite number above 0; got -1.0"),
    (["--lr", "nan"], "lr must be a finite number above 0; got nan"),
    (["--lr", "inf"], "lr must be a finite number above 0; got inf"),
    (["--momentum", "nan"], "momentum must be a finite number, at least 0; got nan"),
    (["--weight-decay", "-0.1"], "weight_decay must be a finite number, at least 0; got -0.1"),
    (["--seed", "-1"], "seed must be an integer of at least 0; got -1"),
    (["--hidden", "0"], "hidden must be a list of layer widths, each at least 1; got [0]"),
    (["--hidden", "64,0"], "hidden must be a list of layer widths, each at least 1; got [64, 0]"),
])
def test_bad_flag_values_are_one_line_errors_before_any_training(capsys, data_root, tmp_path, flags, phrase):
    out = tmp_path / "run"
    status, err = run_cli(capsys, "train", "--data-root", str(data_root), "--out", str(out), "--no-progress", *flags)
    assert_one_line_error(status, err, phrase)
    assert not (out / "checkpoint.npz").exists()


def test_a_device_this_machine_lacks_is_a_one_line_error(capsys, data_root, tmp_path):
    out = tmp_path / "run"
    status, err = run_cli(capsys, "train", "--data-root", str(data_root), "--out", str(out), "--device", "tpu", *QUICK)
    assert_one_line_error(status, err, "unknown device 'tpu'")
    try:
        import cupy  # noqa: F401
    except ImportError:
        status, err = run_cli(capsys, "train", "--data-root", str(data_root), "--out", str(out), "--device", "cuda", *QUICK)
        assert_one_line_error(status, err, "device 'cuda' needs CuPy: pip install cupy-cuda12x")
    assert not (out / "checkpoint.npz").exists()


def test_a_batch_larger_than_the_dataset_is_an_error_not_zero_step_epochs(capsys, data_root, tmp_path):
    status, err = run_cli(capsys, "train", "--data-root", str(data_root), "--out", str(tmp_path / "run"),
                          "--epochs", "1", "--batch-size", "100000", "--no-progress")
    assert_one_line_error(status, err, "batch_size 100000 is larger than the 256 training samples")


def test_fit_refuses_a_loader_that_yields_no_batch():
    loader = data.DataLoader((np.zeros((5, 4), np.float32), np.zeros(5, np.int64)), batch_size=8, drop_last=True)
    model = nn.Linear(4, 2)
    with pytest.raises(ValueError, match="yields no batch per epoch"):
        fit(model, optim.SGD(model.parameters(), lr=0.1), loader, epochs=1, progress=False, log=lambda line: None)


def test_an_out_that_is_a_file_is_a_one_line_error(capsys, data_root, tmp_path):
    out = tmp_path / "a-file"
    out.write_text("keep me")
    status, err = run_cli(capsys, "train", "--data-root", str(data_root), "--out", str(out), *QUICK)
    assert_one_line_error(status, err, str(out), "is a file")
    assert out.read_text() == "keep me"


# -- the data a run trains on is the data it was asked for --------------------------------------------
def test_a_missing_data_root_is_an_error_not_a_fallback(capsys, tmp_path):
    missing = tmp_path / "no-such-dir"
    status, err = run_cli(capsys, "train", "--data-root", str(missing), "--out", str(tmp_path / "run"), *QUICK)
    assert_one_line_error(status, err, str(missing), "no such directory", "no other place was searched")


def test_a_data_root_with_only_the_train_split_is_an_error(capsys, data_root, tmp_path):
    partial = tmp_path / "train-only"
    partial.mkdir()
    for item in data.FashionMNIST.spec.train:
        (partial / f"{item.name}.gz").write_bytes((data_root / f"{item.name}.gz").read_bytes())
    status, err = run_cli(capsys, "train", "--data-root", str(partial), "--out", str(tmp_path / "run"), *QUICK)
    assert_one_line_error(status, err, "test files not found in the data root", "missing t10k-images-idx3-ubyte")


def test_the_datasets_search_stays_available_to_the_library(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path))
    (tmp_path / "fashion-mnist").symlink_to(data_root)
    assert len(data.FashionMNIST(root=tmp_path / "elsewhere", download=False)) == 256
    with pytest.raises(data.DatasetNotFoundError, match="no other place was searched"):
        data.FashionMNIST(root=tmp_path / "elsewhere", download=False, search=False)


def test_the_resume_hint_names_the_folder_and_the_data(data_root, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule.cli", "train", "--data-root", str(data_root), "--out", str(out),
         "--epochs", "200", "--hidden", "16", "--batch-size", "64", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for line in process.stdout:
        if line.split()[:1] == ["2"]:
            break
    process.send_signal(2)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    hint = stderr.split("to continue: ", 1)[1].splitlines()[0]
    assert hint == (f"chainrule train --resume {out / 'checkpoint.npz'} --out {out} --data-root {data_root}")


def test_resume_without_flags_reuses_the_checkpoints_folder_and_data(capsys, finished_run, tmp_path):
    meta = load_checkpoint(finished_run / "checkpoint.npz")[2]
    assert meta["run"]["data_root"] is not None
    status, err = run_cli(capsys, "train", "--resume", str(finished_run / "checkpoint.npz"), "--no-progress")
    assert status == 0, err


def test_resume_refuses_options_that_differ_from_the_checkpoint(capsys, finished_run, data_root):
    status, err = run_cli(capsys, "train", "--resume", str(finished_run / "checkpoint.npz"), "--lr", "0.5",
                          "--hidden", "16", "--data-root", str(data_root), "--no-progress")
    assert_one_line_error(status, err, "lr=0.5 (the checkpoint has 0.05)")
    assert "hidden" not in err  # the same value as the checkpoint's is no conflict


# -- checkpoints that do not fit -------------------------------------------------------------------------
def _rewrite(source, target, change):
    """Copy a checkpoint, letting ``change(model, optim, meta)`` edit its three parts."""
    model_state, optim_state, meta = load_checkpoint(source)
    change(model_state, optim_state, meta)
    save_checkpoint(target, model_state, optim_state, meta)
    return target


MISFITS = {
    "missing": lambda tmp, src: tmp / "nowhere.npz",
    "unreadable": lambda tmp, src: _unreadable(tmp / "locked.npz", src),
    "truncated": lambda tmp, src: _truncated(tmp / "cut.npz", src),
    "not a zip": lambda tmp, src: _bytes(tmp / "text.npz", b"hello"),
    "other model": lambda tmp, src: _rewrite(src, tmp / "model.npz",
                                              lambda m, o, meta: m.update({"1.weight": np.zeros((3, 3), np.float32)})),
    "other optimizer": lambda tmp, src: _rewrite(src, tmp / "optim.npz", lambda m, o, meta: o.clear()),
    "no recipe": lambda tmp, src: _rewrite(src, tmp / "recipe.npz", lambda m, o, meta: meta.pop("recipe")),
    "bad recipe": lambda tmp, src: _rewrite(src, tmp / "bad-recipe.npz",
                                             lambda m, o, meta: meta["recipe"].update(model="transformer")),
    "no loader state": lambda tmp, src: _rewrite(src, tmp / "loader.npz", lambda m, o, meta: meta.pop("loader_state")),
}


def _bytes(path, content):
    path.write_bytes(content)
    return path


def _truncated(path, source):
    return _bytes(path, source.read_bytes()[:-100])


def _unreadable(path, source):
    path.write_bytes(source.read_bytes())
    path.chmod(0)  # root reads it all the same: the tests below also refuse the read itself
    return path


@pytest.fixture
def locked_files_cannot_be_read(monkeypatch):
    """A file named locked.npz raises PermissionError when opened, as a mode-0 file does for
    anyone but root (CI runs as root)."""
    import builtins

    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):
        if str(file).endswith("locked.npz"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)


@pytest.mark.parametrize("kind", MISFITS)
def test_resume_from_a_misfit_checkpoint_is_a_one_line_error(capsys, finished_run, data_root, tmp_path, kind,
                                                             locked_files_cannot_be_read):
    checkpoint = MISFITS[kind](tmp_path, finished_run / "checkpoint.npz")
    status, err = run_cli(capsys, "train", "--resume", str(checkpoint), "--data-root", str(data_root),
                          "--out", str(tmp_path / "run"), "--no-progress")
    assert_one_line_error(status, err, checkpoint.name)


@pytest.mark.parametrize("kind", ["missing", "truncated", "not a zip", "other model", "no recipe", "bad recipe"])
def test_evaluate_of_a_misfit_checkpoint_is_a_one_line_error(capsys, finished_run, data_root, tmp_path, kind):
    checkpoint = MISFITS[kind](tmp_path, finished_run / "checkpoint.npz")
    status, err = run_cli(capsys, "evaluate", str(checkpoint), "--data-root", str(data_root))
    assert_one_line_error(status, err, checkpoint.name)


def test_a_checkpoint_written_by_the_python_api_is_explained_to_the_cli(capsys, data_root, tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    loader = data.DataLoader(data.FashionMNIST(root=data_root, download=False), batch_size=64)
    path = tmp_path / "api.npz"
    fit(model, optim.SGD(model.parameters(), lr=0.1), loader, epochs=1, checkpoint=path, progress=False,
        log=lambda line: None)
    status, err = run_cli(capsys, "evaluate", str(path), "--data-root", str(data_root))
    assert_one_line_error(status, err, "api.npz", "holds no training recipe", "load_checkpoint()")


# -- one run per folder, and files as the umask says ---------------------------------------------------
def test_a_second_run_on_a_folder_in_use_is_refused(capsys, data_root, tmp_path):
    out = tmp_path / "shared"
    out.mkdir()
    with open(out / LOCK_NAME, "a+") as held:  # another live run holds the folder
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("4242\n")
        held.flush()
        status, err = run_cli(capsys, "train", "--data-root", str(data_root), "--out", str(out), *QUICK)
    assert_one_line_error(status, err, str(out), "in use by another training run (pid 4242)", "--out")
    assert not (out / "checkpoint.npz").exists()
    status, err = run_cli(capsys, "train", "--data-root", str(data_root), "--out", str(out), *QUICK)
    assert status == 0, err  # the lock went with its holder


def test_two_concurrent_trainings_on_one_folder_never_both_succeed(data_root, tmp_path):
    out = tmp_path / "race"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "chainrule.cli", "train", "--data-root", str(data_root), "--out", str(out),
               "--epochs", "3", "--hidden", "16", "--batch-size", "64", "--no-progress"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for _ in range(2)]
    results = [process.communicate(timeout=300) + (process.returncode,) for process in processes]
    statuses = sorted(status for _, _, status in results)
    assert statuses in ([0, 0], [0, 2])  # one after the other, or one refused: never a shared folder
    if statuses == [0, 2]:
        refused = next(err for _, err, status in results if status == 2)
        assert "in use by another training run" in refused
    load_checkpoint(out / "checkpoint.npz")


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_checkpoints_take_their_mode_from_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        path = save_checkpoint(tmp_path / f"mode-{umask:o}.npz", {"w": np.zeros(2)}, meta={})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


# -- the run survives what it does not need ----------------------------------------------------------------
def test_training_without_matplotlib_skips_the_plots_with_a_warning(data_root, tmp_path):
    blocker = tmp_path / "no-matplotlib"
    blocker.mkdir()
    (blocker / "matplotlib.py").write_text("raise ImportError('No module named matplotlib', name='matplotlib')\n")
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    process = subprocess.run([sys.executable, "-m", "chainrule.cli", "train", "--data-root", str(data_root),
                              "--out", str(out), *QUICK], capture_output=True, text=True, env=env, timeout=300)
    assert process.returncode == 0, process.stderr
    assert "warning: no plots drawn (matplotlib is not installed" in process.stdout
    assert (out / "checkpoint.npz").is_file() and not (out / "curves.png").exists()


def test_a_divergence_before_any_checkpoint_names_none(capsys, data_root, tmp_path):
    status, err = run_cli(capsys, "train", "--data-root", str(data_root), "--out", str(tmp_path / "run"),
                          "--lr", "1e30", "--momentum", "0", "--epochs", "1", "--hidden", "16",
                          "--batch-size", "64", "--no-progress")
    assert status == 1
    assert "No checkpoint was written before it" in err and "last good checkpoint" not in err


def test_a_full_disk_is_a_one_line_error_and_the_previous_checkpoint_stays(capsys, finished_run, data_root,
                                                                          tmp_path, monkeypatch):
    import errno

    from chainrule.train import checkpoint as checkpoint_module

    out = tmp_path / "full"
    out.mkdir()
    previous = (finished_run / "checkpoint.npz").read_bytes()
    (out / "checkpoint.npz").write_bytes(previous)

    def disk_full(handle, **arrays):
        handle.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "checkpoint.npz"))

    monkeypatch.setattr(checkpoint_module.numpy, "savez", disk_full)
    status, err = run_cli(capsys, "train", "--data-root", str(data_root), "--out", str(out), *QUICK)
    assert_one_line_error(status, err, "No space left on device", "checkpoint.npz")
    assert (out / "checkpoint.npz").read_bytes() == previous


def test_a_missing_dataset_when_offline_is_a_one_line_error(capsys, tmp_path, monkeypatch):
    import dataclasses

    import local_http

    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data-home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    offline = dataclasses.replace(data.FashionMNIST.spec, mirrors=(local_http.refused_url(),),
                                  system_dirs=(str(tmp_path / "system"),))
    monkeypatch.setattr(data.FashionMNIST, "spec", offline)
    status, err = run_cli(capsys, "train", "--out", str(tmp_path / "run"), *QUICK)
    assert_one_line_error(status, err, "Fashion-MNIST training files not found", "cannot connect")


@pytest.mark.parametrize("build, error, message", [
    (lambda: nn.Linear(-1, 2), ValueError, "Linear: in_features must be at least 0, got -1"),
    (lambda: nn.Linear(4, -3), ValueError, "Linear: out_features must be at least 0, got -3"),
    (lambda: nn.Linear(2.5, 3), TypeError, "Linear: in_features must be an integer, got 2.5"),
    (lambda: nn.Conv2d(0, 8, 3), ValueError, "Conv2d: in_channels must be at least 1, got 0"),
    (lambda: nn.Conv2d(3, -8, 3), ValueError, "Conv2d: out_channels must be at least 1, got -8"),
    (lambda: nn.BatchNorm2d(-4), ValueError, "BatchNorm2d: num_features must be at least 0, got -4"),
    (lambda: nn.LayerNorm((4, -1)), ValueError, "LayerNorm: normalized_shape must be at least 0, got -1"),
    (lambda: nn.Embedding(-2, 3), ValueError, "Embedding: num_embeddings must be at least 0, got -2"),
])
def test_layer_constructors_name_the_layer_and_the_bad_size(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("layer, shape", [(lambda: nn.Linear(784, 10), (2, 784)),
                                          (lambda: nn.Conv2d(1, 4, 3), (2, 1, 8, 8))])
def test_integer_input_is_told_to_become_floats(layer, shape):
    import chainrule as cr

    with pytest.raises(TypeError) as info:
        layer()(cr.tensor(np.zeros(shape, np.uint8)))
    message = str(info.value)
    assert "got uint8" in message and "convert it to floats first" in message and "dtype=uint8" not in message


def test_adam_alone_gets_adams_learning_rate_and_an_explicit_lr_wins():
    from chainrule.train.recipes import recipe_for

    assert recipe_for({"optimizer": "adam"})["lr"] == 1e-3
    assert recipe_for({"optimizer": "adamw"})["lr"] == 1e-3
    assert recipe_for({"optimizer": "adam", "lr": 0.01})["lr"] == 0.01
    assert recipe_for({})["lr"] == 0.05


def test_the_progress_bar_stays_out_of_a_log_file(data_root, tmp_path):
    log = tmp_path / "train.log"
    with open(log, "w") as handle:
        subprocess.run([sys.executable, "-m", "chainrule.cli", "train", "--data-root", str(data_root), "--out",
                        str(tmp_path / "run"), "--epochs", "1", "--hidden", "16", "--batch-size", "64"],
                       stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"},
                       timeout=300, check=True)
    text = log.read_text()
    assert "epoch 1/1" not in text and "batch/s" not in text and "\r" not in text
    assert "train loss" in text and "test accuracy" in text
