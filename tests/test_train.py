"""The training loop: it learns, checkpoints round-trip, interruption resumes exactly,
divergence stops cleanly, and a run writes its table and plots.

Data: the synthetic problem of tests/synthetic.py, so the oracles are "far above
chance" and "bit-identical to an uninterrupted run".
"""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.errors import CheckpointError
from chainrule.train import TrainingDiverged, TrainingInterrupted, fit, load_checkpoint, recipes, train
from synthetic import NUM_CLASSES, synthetic_images, write_fashion_like

@pytest.fixture
def fashion_root(tmp_path):
    """A directory holding a tiny Fashion-MNIST look-alike in IDX format."""
    return write_fashion_like(tmp_path)


def small_setup(seed: int = 0, lr: float = 0.05):
    cr.manual_seed(seed)
    x, y = synthetic_images(320, seed=5)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, NUM_CLASSES))
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    transform = data.Compose([data.ToFloat(), data.Normalize(0.5, 0.25)])
    loader = data.DataLoader((x, y.astype(np.int64)), batch_size=32, shuffle=True, seed=seed, transform=transform)
    return model, optimizer, scheduler, loader


def weights(model) -> dict:
    return {k: v.copy() for k, v in model.state_dict().items()}


class InterruptAt:
    """A loss function that sends ``signum`` to this process on its ``at``-th call."""

    def __init__(self, at: int, signum: int):
        self.calls, self.at, self.signum = 0, at, signum
        self.loss = nn.CrossEntropyLoss()

    def __call__(self, out, y):
        self.calls += 1
        if self.calls == self.at:
            os.kill(os.getpid(), self.signum)
        return self.loss(out, y)


def test_fit_learns_far_above_chance():
    model, optimizer, scheduler, loader = small_setup()
    history = fit(model, optimizer, loader, epochs=3, test_loader=loader, scheduler=scheduler, progress=False,
                  log=lambda line: None)
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["test_acc"] > 0.9  # chance is 0.1


@pytest.mark.parametrize("signum, at_step", [(signal.SIGINT, 14), (signal.SIGTERM, 10), (signal.SIGINT, 20)])
def test_interrupted_run_resumes_to_identical_weights(tmp_path, signum, at_step):
    """Step 10 is the last of epoch 1 (10 batches per epoch): the edge case of a finished epoch."""
    reference_model, optimizer, scheduler, loader = small_setup()
    fit(reference_model, optimizer, loader, epochs=3, scheduler=scheduler, progress=False, log=lambda line: None)

    model, optimizer, scheduler, loader = small_setup()
    checkpoint = tmp_path / "ckpt.npz"
    with pytest.raises(TrainingInterrupted) as caught:
        fit(model, optimizer, loader, epochs=3, scheduler=scheduler, checkpoint=checkpoint,
            loss_fn=InterruptAt(at_step, signum), progress=False, log=lambda line: None)
    assert caught.value.exit_code == 128 + signum
    assert "--resume" in str(caught.value) and str(checkpoint) in str(caught.value)
    assert load_checkpoint(checkpoint)[2]["step"] == (at_step - 1) % 10 + 1

    cr.manual_seed(999)  # resume must not depend on the state of the fresh process
    model, optimizer, scheduler, loader = small_setup(seed=0)
    history = fit(model, optimizer, loader, epochs=3, scheduler=scheduler, checkpoint=checkpoint, resume=checkpoint,
                  progress=False, log=lambda line: None)
    assert len(history) == 3
    expected = weights(reference_model)
    for name, value in weights(model).items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)


def test_checkpoint_holds_model_optimizer_and_schedule(tmp_path):
    model, optimizer, scheduler, loader = small_setup()
    checkpoint = tmp_path / "ckpt.npz"
    fit(model, optimizer, loader, epochs=2, scheduler=scheduler, checkpoint=checkpoint, progress=False,
        log=lambda line: None)
    model_state, optim_state, meta = load_checkpoint(checkpoint)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(model_state[name], value)
    assert meta["epoch"] == 2 and meta["step"] == 0
    assert meta["scheduler"]["last_epoch"] == 2
    assert scheduler.get_last_lr()[0] == pytest.approx(0.05 * 0.25)
    momentum = optimizer.state_dict()
    assert any(key.startswith("state.") for key in optim_state), sorted(optim_state)[:5]
    assert momentum["param_groups"][0]["lr"] == pytest.approx(0.05 * 0.25)


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    model, optimizer, scheduler, loader = small_setup()
    checkpoint = tmp_path / "ckpt.npz"
    fit(model, optimizer, loader, epochs=1, checkpoint=checkpoint, progress=False, log=lambda line: None)
    good = checkpoint.read_bytes()

    def poisoned_loss(out, y):
        return nn.CrossEntropyLoss()(out, y) * float("nan")

    with pytest.raises(TrainingDiverged, match="learning rate") as caught:
        fit(model, optimizer, loader, epochs=2, checkpoint=checkpoint, resume=checkpoint, loss_fn=poisoned_loss,
            progress=False, log=lambda line: None)
    assert "nan" in str(caught.value) and str(checkpoint) in str(caught.value)
    assert checkpoint.read_bytes() == good


def test_corrupt_checkpoint_is_named_in_the_error(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError, match="broken.npz"):
        load_checkpoint(path)


def test_train_writes_table_plots_and_a_checkpoint_that_evaluates(fashion_root, tmp_path):
    from chainrule.train import evaluate_checkpoint

    lines = []
    out = tmp_path / "run"
    result = train(out=str(out), data_root=str(fashion_root), epochs=2, hidden=[64], batch_size=64,
                   progress=False, log=lines.append)
    assert result["test_acc"] > 0.9
    header = next(line for line in lines if line.lstrip().startswith("epoch"))
    assert "train loss" in header and "test acc" in header and "samples/s" in header
    for name in ("curves.png", "confusion.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    evaluated = evaluate_checkpoint(str(out / "checkpoint.npz"), data_root=str(fashion_root), log=lines.append)
    assert evaluated["acc"] == pytest.approx(result["test_acc"])
    assert evaluated["confusion"].sum() == 200


def _real_fashion_mnist():
    try:
        return data.FashionMNIST(train=True, download=False), data.FashionMNIST(train=False, download=False)
    except data.DatasetNotFoundError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")


@pytest.mark.slow
def test_learns_real_fashion_mnist_subset():
    """End to end on the real data: 10,000 training images, one epoch, far above chance."""
    train_set, test_set = _real_fashion_mnist()
    cr.manual_seed(0)
    transform = data.Compose([data.ToFloat(), data.Normalize(data.FASHION_MNIST_MEAN, data.FASHION_MNIST_STD)])
    loader = data.DataLoader((train_set.images[:10000], train_set.labels[:10000]), batch_size=64, shuffle=True,
                             seed=0, transform=transform)
    test_loader = data.DataLoader((test_set.images, test_set.labels), batch_size=1000, transform=transform)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = fit(model, optimizer, loader, epochs=1, test_loader=test_loader, progress=False, log=lambda line: None)
    assert history[-1]["test_acc"] > 0.75  # chance is 0.10; this recipe gives about 0.83


@pytest.mark.slow
def test_cnn_recipe_learns_real_fashion_mnist_subset():
    """The network and optimizer of ``chainrule train --model cnn`` on 6,400 real images
    for one epoch (50 steps): far above chance (0.10; this gives about 0.79)."""
    train_set, test_set = _real_fashion_mnist()
    transform = data.Compose([data.ToFloat(), data.Normalize(data.FASHION_MNIST_MEAN, data.FASHION_MNIST_STD)])
    cr.manual_seed(0)
    recipe = recipes.recipe_for({"model": "cnn", "epochs": 1})
    model = recipes.build_model(recipe)
    optimizer = recipes.build_optimizer(recipe, model.parameters())
    loader = data.DataLoader((train_set.images[:6400], train_set.labels[:6400]), batch_size=128, shuffle=True,
                             seed=0, transform=transform)
    test_loader = data.DataLoader((test_set.images[:2000], test_set.labels[:2000]), batch_size=500,
                                  transform=transform)
    history = fit(model, optimizer, loader, epochs=1, test_loader=test_loader, progress=False, log=lambda line: None)
    assert history[-1]["test_acc"] > 0.7


def test_a_one_epoch_curve_has_whole_epoch_ticks(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from chainrule.train import plot_history

    captured = []
    original = plt.Figure.savefig

    def keep_figure(figure, *args, **kwargs):
        captured.append([list(ax.get_xticks()) for ax in figure.axes])
        return original(figure, *args, **kwargs)

    plt.Figure.savefig = keep_figure
    try:
        plot_history([{"epoch": 1, "train_loss": 0.5, "test_loss": 0.6, "train_acc": 0.8, "test_acc": 0.7}],
                     tmp_path / "curves.png")
    finally:
        plt.Figure.savefig = original
    for ticks in captured[0]:
        assert all(float(tick).is_integer() for tick in ticks), ticks


def test_evaluation_shows_its_progress_on_a_terminal(monkeypatch):
    import io
    import sys

    from chainrule import data, nn
    from chainrule.train import evaluate

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    images = np.zeros((10, 4), np.float32)
    loader = data.DataLoader((images, np.arange(10) % 2), batch_size=3)
    result = evaluate(nn.Linear(4, 2), loader, progress=True)
    assert "test:" in screen.getvalue() and "/4 " in screen.getvalue()  # a bar over the ⌈10/3⌉ batches
    assert result["acc"] in (0.5,)  # a constant input predicts one class: half the labels
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    evaluate(nn.Linear(4, 2), loader)
    assert quiet.getvalue() == ""
