"""The benchmark harness compares like with like: every framework's trainer takes the
same SGD steps from the same weights, and the summaries are the statistics they claim.

Speed itself is never asserted here; ``python -m benchmarks`` measures it.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import machine, workloads  # noqa: E402
from chainrule import cli  # noqa: E402
from benchmarks.stats import Spread, paired_ratios  # noqa: E402
from benchmarks.trainers import trainer_class  # noqa: E402

SMALL = workloads.Workload(sizes=(20, 16, 12, 5), batch=8, lr=0.05)


def _weights_after(framework: str, steps: int) -> list[np.ndarray]:
    """Weights and biases, layer by layer, after ``steps`` SGD steps on random batches."""
    trainer = trainer_class(framework)(workloads.initial_weights(SMALL.sizes, seed=3), SMALL, threads=1)
    for x, y in workloads.random_batches(SMALL, steps, seed=4):
        trainer.step(trainer.batch(x, y))
    if framework.startswith("numpy"):
        return [p.copy() for p in trainer.params]
    if framework == "jax":
        return _weights_after_steps(trainer, framework)
    state = getattr(trainer, "eager_model", trainer.model).state_dict()
    names = [f"{2 * layer}.{kind}" for layer in range(len(SMALL.sizes) - 1) for kind in ("weight", "bias")]
    return [np.asarray(state[name].numpy() if framework == "torch" else state[name]) for name in names]


@pytest.mark.parametrize("framework", ["chainrule", "chainrule-by-hand", "chainrule-fused", "numpy", "numpy-lean"])
def test_trainers_take_the_same_steps_as_pytorch(framework):
    pytest.importorskip("torch")
    expected = _weights_after("torch", steps=12)
    actual = _weights_after(framework, steps=12)
    initial = [array for layer in workloads.initial_weights(SMALL.sizes, seed=3) for array in layer]
    for got, want, start in zip(actual, expected, initial):
        assert got.dtype == np.float32
        assert not np.allclose(want, start)  # the steps moved the weights
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_compiled_pytorch_takes_the_same_steps_as_eager():
    """torch.compile's trainer warms up on other data, then starts from the initial weights."""
    pytest.importorskip("torch")
    expected = _weights_after("torch", steps=12)
    for got, want in zip(_weights_after("torch-compile", steps=12), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_jax_takes_the_same_steps_with_the_data_on_its_device():
    """Both of the JAX trainer's loops: a batch from the host per step, and the data on the device
    gathered inside the compiled step (what the mlp and micro jobs time)."""
    pytest.importorskip("jax")
    pytest.importorskip("torch")
    from benchmarks.jobs import _timed_steps

    expected = _weights_after("torch", steps=12)
    np.testing.assert_allclose(_weights_after("jax", steps=12)[0], expected[0], rtol=1e-4, atol=1e-6)
    rng = np.random.default_rng(7)
    images, labels = rng.integers(0, 256, (40, 20), dtype=np.uint8), rng.integers(0, 5, 40)
    rows = np.stack([rng.permutation(40)[:SMALL.batch] for _ in range(6)])
    results = []
    for framework in ("torch", "jax"):
        trainer = trainer_class(framework)(workloads.initial_weights(SMALL.sizes, seed=3), SMALL, threads=1)
        assert _timed_steps(trainer, images, labels, rows) > 0
        results.append(_weights_after_steps(trainer, framework))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def _weights_after_steps(trainer, framework: str) -> list[np.ndarray]:
    if framework == "jax":
        return [np.asarray(array) for layer in trainer.params for array in layer]
    return [value.numpy() for value in trainer.model.state_dict().values()]


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_language_model_peers_take_the_same_adam_steps(arch):
    """The lstm and transformer benchmarks time the same model: PyTorch's, loaded with chainrule's
    initial weights, takes the same three Adam steps on the same batches."""
    pytest.importorskip("torch")
    from benchmarks import charlm

    recipe = {**charlm._recipe(arch), "width": 16, "context": 12, "batch_size": 4}
    rng = np.random.default_rng(0)
    batches = [(rng.integers(0, 30, (4, 12)), rng.integers(0, 30, (4, 12))) for _ in range(3)]
    ours = charlm.ChainruleLanguageModel(recipe, 30, seed=0)
    theirs = charlm.TorchLanguageModel(recipe, 30, 0, ours.state(), threads=1)
    initial = ours.state()
    for x, y in batches:
        ours.step(ours.batch(x, y))
        theirs.step(theirs.batch(x, y))
    expected = {name: value.detach().numpy() for name, value in theirs.model.state_dict().items()}
    for name, value in ours.state().items():
        assert value.dtype == np.float32 and not np.allclose(value, initial[name]), name
        if name.endswith("in_proj_bias"):
            # The key bias adds q·b_k to a whole row of scores, which softmax ignores: its gradient is
            # rounding noise, which Adam scales up to full steps of either sign. Compare q's and v's.
            value, expected[name] = (np.delete(v, np.s_[16:32]) for v in (value, expected[name]))
        np.testing.assert_allclose(value, expected[name], rtol=1e-4, atol=2e-5, err_msg=name)


def test_paired_ratios_pair_each_repetition():
    ratios = paired_ratios([2.0, 3.0, 12.0], [4.0, 3.0, 4.0])  # 0.5, 1.0, 3.0
    assert ratios == Spread(median=1.0, low=0.5, high=3.0)
    assert ratios.format(".2f") == "1.00 (0.50–3.00)"


def test_training_products_of_the_mlp():
    # Per layer: x·Wᵀ (B, in, out) and dyᵀ·x (out, B, in); dy·W (B, out, in) except
    # for the first layer, whose input needs no gradient.
    assert workloads.training_products(workloads.MLP) == [
        (128, 784, 512), (512, 128, 784),
        (128, 512, 512), (512, 128, 512), (128, 512, 512),
        (128, 512, 10), (10, 128, 512), (128, 10, 512),
    ]


def test_epoch_order_is_a_seeded_permutation():
    first = workloads.epoch_order(1000, seed=0, epoch=1)
    assert sorted(first.tolist()) == list(range(1000))
    np.testing.assert_array_equal(first, workloads.epoch_order(1000, seed=0, epoch=1))
    assert not np.array_equal(first, workloads.epoch_order(1000, seed=0, epoch=2))


@pytest.mark.slow
def test_chainrule_bench_runs_a_quick_micro_benchmark(tmp_path):
    pytest.importorskip("torch")
    status = cli.main(["bench", "micro", "--quick", "--reps", "1", "--threads", "1", "--frameworks", "chainrule",
                       "torch", "--out", str(tmp_path), "--plot", str(tmp_path / "sweep.png")])
    assert status == 0
    results = json.loads((tmp_path / "results.json").read_text())
    runs = results["micro"]
    assert set(runs) == {"chainrule", "torch"}
    assert all(run["steps_per_second"] > 0 for framework in runs.values() for run in framework)
    report = (tmp_path / "report.md").read_text()
    assert "### micro" in report and "| chainrule |" in report and "| torch |" in report


def test_chainrule_bench_without_a_source_checkout_says_where_the_benchmarks_are(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "source_checkout", lambda: tmp_path)
    assert cli.main(["bench", "micro"]) == 2
    message = capsys.readouterr().err
    assert "chainrule bench: error:" in message and str(tmp_path) in message and "pip install -e" in message


def test_other_commands_still_refuse_unknown_arguments(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["evaluate", "checkpoint.npz", "--quick"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --quick" in capsys.readouterr().err


def test_chainrule_bench_help_names_chainrule_bench():
    process = subprocess.run([sys.executable, "-m", "chainrule.cli", "bench", "--help"], capture_output=True,
                             text=True, timeout=120)
    assert process.returncode == 0 and process.stdout.startswith("usage: chainrule bench")


@pytest.mark.parametrize("load, cores, busy", [(6.7, 2, True), (1.1, 2, True), (0.9, 2, False), (0.0, 16, False)])
def test_a_busy_machine_is_called_out(monkeypatch, load, cores, busy):
    monkeypatch.setattr(machine.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(machine.os, "cpu_count", lambda: cores)
    warning = machine.busy_warning()
    assert (warning is not None) == busy
    if busy:
        assert f"load average {load:.2f} on {cores} cores" in warning and "unreliable" in warning
