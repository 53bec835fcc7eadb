"""The cnn workload: the ``cnn`` recipe of ``chainrule train`` on Fashion-MNIST, against
the same network in PyTorch eager.

Conv(1→32, 3×3, padding 1)-BatchNorm-ReLU-MaxPool(2), Conv(32→64)-BatchNorm-ReLU-
MaxPool(2), Linear(3136→128)-ReLU-Dropout(0.25), Linear(128→10); batch 128, SGD with
lr 0.05, momentum 0.9, weight decay 5e-4, a cosine schedule over the recipe's 8 epochs;
float32. chainrule builds model, optimizer and schedule through
``chainrule.train.recipes`` (what ``chainrule train --model cnn`` trains), PyTorch layer
by layer with the same parameter names. Both start from the same weights (drawn here
with NumPy, as PyTorch's default init draws them) and see the same batches in the same
order; only the dropout masks differ. An epoch is 468 steps (the last partial batch is
dropped), and only the steps are timed.

Jobs, one framework per worker process:
  train    seconds per epoch, test accuracy, peak RSS (the same keys as the mlp job)
  profile  where a training step's time goes: chainrule's ops through ``chainrule.trace``,
           PyTorch's through ``torch.profiler``
The per-op conv2d and max_pool2d timings are in conv_ops.py.
"""
from __future__ import annotations

import statistics
import time
from collections import defaultdict

import numpy

from . import memory, runner, workloads
from .machine import numpy_blas
from .report import _table, mlp_table
from .trainers import training_step

FRAMEWORKS = ("chainrule", "torch")
BATCH = 128
STEPS_PER_EPOCH = 468  # 60,000 // 128
QUICK_STEPS = 200
PROFILE_STEPS = 20
HYPERPARAMETERS = {"lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4, "epochs": 8, "schedule": "cosine"}
"""The recipe's optimizer and schedule, passed to chainrule's recipe and mirrored in PyTorch."""

CONVS = {"2": (32, 1, 3, 3), "6": (64, 32, 3, 3)}
BATCH_NORMS = {"3": 32, "7": 64}
LINEARS = {"11": (128, 3136), "14": (10, 128)}
"""Parameter shapes by position in the Sequential (0 Flatten, 1 Unflatten, 2 Conv2d, 3 BatchNorm2d, ...)."""


def initial_state(seed: int) -> dict[str, numpy.ndarray]:
    """The network's state dict: weights and biases uniform in ±1/√fan_in, batch norms
    at γ = 1, β = 0 with fresh running statistics."""
    rng = numpy.random.default_rng(seed)
    state = {}
    for index, shape in {**CONVS, **LINEARS}.items():
        bound = 1.0 / numpy.sqrt(numpy.prod(shape[1:]))
        state[f"{index}.weight"] = rng.uniform(-bound, bound, shape).astype(workloads.FLOAT)
        state[f"{index}.bias"] = rng.uniform(-bound, bound, shape[0]).astype(workloads.FLOAT)
    for index, channels in BATCH_NORMS.items():
        state[f"{index}.weight"] = numpy.ones(channels, dtype=workloads.FLOAT)
        state[f"{index}.bias"] = numpy.zeros(channels, dtype=workloads.FLOAT)
        state[f"{index}.running_mean"] = numpy.zeros(channels, dtype=workloads.FLOAT)
        state[f"{index}.running_var"] = numpy.ones(channels, dtype=workloads.FLOAT)
        state[f"{index}.num_batches_tracked"] = numpy.zeros((), dtype=numpy.int64)
    return state


def describe(framework: str, threads: int) -> dict:
    """Version, BLAS and threads of a framework, as loaded in this process."""
    if framework == "torch":
        import torch

        from .trainers.torch_trainer import blas_name

        return {"version": torch.__version__, "blas": blas_name(), "threads": torch.get_num_threads()}
    from importlib.metadata import version

    return {"version": version("chainrule"), "blas": numpy_blas(), "threads": threads}


class _RecipeTrainer:
    """What both frameworks' trainers share: a step as a user writes it, and a schedule
    stepped once per epoch (subclasses set model, loss, optimizer and scheduler)."""

    def step(self, batch) -> None:
        training_step(self.model, self.loss, self.optimizer, batch)

    def end_epoch(self) -> None:
        self.scheduler.step()


class ChainruleCNN(_RecipeTrainer):
    """The recipe's model, optimizer and schedule, trained as ``chainrule train`` does."""

    def __init__(self, state: dict, threads: int, seed: int):
        import chainrule as cr
        from chainrule.train import recipes

        cr.manual_seed(seed)
        recipe = recipes.recipe_for({"model": "cnn", "batch_size": BATCH, **HYPERPARAMETERS})
        self.model = recipes.build_model(recipe)
        self.model.load_state_dict(state)
        self.optimizer = recipes.build_optimizer(recipe, self.model.parameters())
        self.scheduler = recipes.build_scheduler(recipe, self.optimizer)
        self.loss = cr.nn.CrossEntropyLoss()
        self.cr = cr

    def batch(self, x: numpy.ndarray, y: numpy.ndarray):
        return self.cr.Tensor(x), self.cr.Tensor(y)

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        self.model.eval()
        with self.cr.no_grad():
            labels = [self.model(self.cr.Tensor(part)).numpy().argmax(axis=1) for part in numpy.array_split(x, 10)]
        self.model.train()
        return numpy.concatenate(labels)

    def profile(self, batches: list) -> list[dict]:
        """Per op call of a step (in call order): its label and median forward and backward ms."""
        calls = []
        for batch in batches:
            with self.cr.trace() as recorded:
                self.step(batch)
            calls.append(recorded.ops)
        rows = []
        for records in zip(*calls):
            first = records[0]
            rows.append({
                "op": f"{first.op} {tuple(first.input_shapes[0])}",
                "forward_ms": 1e3 * statistics.median(r.forward_seconds for r in records),
                "backward_ms": 1e3 * statistics.median(r.backward_seconds or 0.0 for r in records),
            })
        return rows


class TorchCNN(_RecipeTrainer):
    """The same network in PyTorch eager: nn.Sequential, CrossEntropyLoss, optim.SGD."""

    def __init__(self, state: dict, threads: int, seed: int):
        import torch

        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        nn = torch.nn
        self.model = nn.Sequential(
            nn.Flatten(), nn.Unflatten(1, (1, 28, 28)),
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10),
        )
        self.model.load_state_dict({name: torch.from_numpy(array) for name, array in state.items()})
        h = HYPERPARAMETERS
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=h["lr"], momentum=h["momentum"],
                                         weight_decay=h["weight_decay"])
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=h["epochs"])
        self.loss = nn.CrossEntropyLoss()
        self.torch = torch

    def batch(self, x: numpy.ndarray, y: numpy.ndarray):
        return self.torch.from_numpy(x), self.torch.from_numpy(y)

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        self.model.eval()
        with self.torch.no_grad():
            labels = self.model(self.torch.from_numpy(x)).argmax(dim=1).numpy()
        self.model.train()
        return labels

    def profile(self, batches: list) -> list[dict]:
        """Per aten op: its self CPU ms per step (forward and backward ops are separate ops)."""
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as recorded:
            for batch in batches:
                self.step(batch)
        events = sorted(recorded.key_averages(), key=lambda event: -event.self_cpu_time_total)
        return [{"op": event.key, "self_ms": event.self_cpu_time_total / 1e3 / len(batches)}
                for event in events if event.self_cpu_time_total > 0]


TRAINERS = {"chainrule": ChainruleCNN, "torch": TorchCNN}


def _trainer(framework: str, threads: int, seed: int):
    return TRAINERS[framework](initial_state(seed), threads, seed)


def _batches(trainer, images, labels, seed: int, epoch: int, steps: int):
    """The epoch's first ``steps`` batches, converted (untimed) to the framework's inputs."""
    order = workloads.epoch_order(len(labels), seed, epoch)
    for index in range(steps):
        rows = order[index * BATCH:(index + 1) * BATCH]
        yield trainer.batch(workloads.to_float(images[rows]), labels[rows])


def train(framework: str, threads: int, epochs: int, steps: int, seed: int) -> dict:
    """Train ``epochs`` epochs of ``steps`` steps: seconds per epoch, peak RSS, test accuracy."""
    images, labels = workloads.fashion_mnist(train=True)
    test_images, test_labels = workloads.fashion_mnist(train=False)
    trainer = _trainer(framework, threads, seed)
    rss_before = memory.rss_mb()
    memory.reset_peak()
    epoch_seconds = []
    for epoch in range(epochs):
        elapsed = 0.0
        for batch in _batches(trainer, images, labels, seed, epoch, steps):
            start = time.perf_counter()
            trainer.step(batch)
            elapsed += time.perf_counter() - start
        epoch_seconds.append(elapsed)
        trainer.end_epoch()
    peak = memory.peak_rss_mb()
    predictions = trainer.predict(workloads.to_float(test_images))
    return {
        "epoch_seconds": epoch_seconds,
        "steps_per_epoch": steps,
        "accuracy": float(numpy.mean(predictions == test_labels)),
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "describe": describe(framework, threads),
    }


def profile(framework: str, threads: int, steps: int, seed: int) -> dict:
    """Op by op, where ``steps`` training steps spend their time (after 5 untimed steps)."""
    images, labels = workloads.fashion_mnist(train=True)
    trainer = _trainer(framework, threads, seed)
    batches = list(_batches(trainer, images, labels, seed, 0, steps + 5))
    for batch in batches[:5]:
        trainer.step(batch)
    started = time.perf_counter()
    ops = trainer.profile(batches[5:])
    return {"ops": ops, "step_ms": 1e3 * (time.perf_counter() - started) / steps,
            "describe": describe(framework, threads)}


def profile_tables(results: dict[str, list[dict]], rows: int = 12) -> str:
    """chainrule's ops in a step (forward and backward, summed over calls with the same
    label) and PyTorch's heaviest aten ops, each in ms per step."""
    tables = []
    if "chainrule" in results:
        run = results["chainrule"][0]
        totals = defaultdict(lambda: [0.0, 0.0])
        for op in run["ops"]:
            totals[op["op"]][0] += op["forward_ms"]
            totals[op["op"]][1] += op["backward_ms"]
        ordered = sorted(totals.items(), key=lambda item: -sum(item[1]))
        body = [[label, f"{forward:.2f}", f"{backward:.2f}"] for label, (forward, backward) in ordered[:rows]]
        forward, backward = (sum(values[i] for values in totals.values()) for i in (0, 1))
        body.append(["all ops", f"{forward:.2f}", f"{backward:.2f}"])
        tables.append(f"chainrule (traced step {run['step_ms']:.1f} ms, medians of the steps):\n\n"
                      + _table(["op (input shape)", "forward ms", "backward ms"], body))
    if "torch" in results:
        run = results["torch"][0]
        body = [[op["op"], f"{op['self_ms']:.2f}"] for op in run["ops"][:rows]]
        body.append(["all ops", f"{sum(op['self_ms'] for op in run['ops']):.2f}"])
        tables.append(f"PyTorch (profiled step {run['step_ms']:.1f} ms, averages):\n\n"
                      + _table(["aten op", "self CPU ms"], body))
    return "\n\n".join(tables)


def run_task(arguments, frameworks: list[str], common: dict, section) -> dict:
    """The ``cnn`` task of ``python -m benchmarks``: epochs, per-op times and a step's
    profile, each interleaved over the frameworks; returns their results by name."""
    from . import conv_ops  # it imports describe() from here

    names = [name for name in frameworks if name in FRAMEWORKS]
    steps = QUICK_STEPS if arguments.quick else STEPS_PER_EPOCH
    results = {"cnn": runner.interleaved("cnn", names, epochs=1, steps=steps, **common)}
    section(f"cnn: Fashion-MNIST, the cnn recipe, batch {BATCH}, {steps} steps per epoch, "
            f"{common['reps']} runs each", mlp_table(results["cnn"]))
    results["conv_ops"] = runner.interleaved("conv_ops", names, **common)
    section(f"conv2d and max_pool2d alone, float32, batch 128 (best of {conv_ops.TIMINGS} calls, "
            f"median of runs)", conv_ops.table(results["conv_ops"]))
    results["cnn_profile"] = runner.interleaved("cnn_profile", names, steps=PROFILE_STEPS, **{**common, "reps": 1})
    section(f"cnn: where a training step's time goes ({PROFILE_STEPS} steps)", profile_tables(results["cnn_profile"]))
    return results
