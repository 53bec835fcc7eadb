"""The measurements one worker subprocess makes, each returning a JSON-ready dict.

Only the training steps are timed: batches are cut, converted to float32 and wrapped
as the framework's inputs outside the timed region ("data loading excluded").
"""
from __future__ import annotations

import time

import numpy

from . import charlm, cnn, conv_ops, machine, memory, workloads
from .trainers import trainer_class


def mlp(framework: str, threads: int, epochs: int, seed: int) -> dict:
    """Train the mlp workload on Fashion-MNIST: seconds per epoch, peak RSS, test accuracy."""
    images, labels = workloads.fashion_mnist(train=True)
    test_images, test_labels = workloads.fashion_mnist(train=False)
    workload = workloads.MLP
    trainer = trainer_class(framework)(workloads.initial_weights(workload.sizes, seed), workload, threads)
    rss_before = memory.rss_mb()
    memory.reset_peak()
    epoch_seconds = []
    for epoch in range(epochs):
        order = workloads.epoch_order(len(labels), seed, epoch)
        rows = order[:workloads.MLP_STEPS_PER_EPOCH * workload.batch].reshape(-1, workload.batch)
        epoch_seconds.append(_timed_steps(trainer, images, labels, rows))
    peak = memory.peak_rss_mb()
    predictions = trainer.predict(workloads.to_float(test_images))
    return {
        "epoch_seconds": epoch_seconds,
        "accuracy": float(numpy.mean(predictions == test_labels)),
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "describe": trainer.describe(),
    }


def micro(framework: str, threads: int, steps: int, warmup: int, seed: int) -> dict:
    """Steps per second of the micro workload at batch size 1, after ``warmup`` steps."""
    images, labels = workloads.fashion_mnist(train=True)
    workload = workloads.MICRO
    trainer = trainer_class(framework)(workloads.initial_weights(workload.sizes, seed), workload, threads)
    rows = workloads.epoch_order(len(labels), seed, 0)[: warmup + steps].reshape(-1, 1)
    _timed_steps(trainer, images, labels, rows[:warmup])
    seconds = _timed_steps(trainer, images, labels, rows[warmup:])
    return {"steps_per_second": steps / seconds, "describe": trainer.describe()}


def _timed_steps(trainer, images: numpy.ndarray, labels: numpy.ndarray, rows: numpy.ndarray) -> float:
    """Seconds of training on the batches ``images[r], labels[r]`` for each row r of ``rows``. A trainer
    whose framework keeps data on the device and dispatches asynchronously (JAX) runs its own loop
    (``timed_steps``); for the others each batch is converted untimed and each step timed."""
    if hasattr(trainer, "timed_steps"):
        return trainer.timed_steps(workloads.to_float(images), labels, rows)
    elapsed = 0.0
    for batch_rows in rows:
        batch = trainer.batch(workloads.to_float(images[batch_rows]), labels[batch_rows])
        start = time.perf_counter()
        trainer.step(batch)
        elapsed += time.perf_counter() - start
    return elapsed


def _seconds_per_step(trainer, batches: list, budget: float) -> float:
    """Time steps until ``budget`` seconds are spent (at least three), after two warm-up steps."""
    for batch in batches[:2]:
        trainer.step(batch)
    count, start = 0, time.perf_counter()
    while count < 3 or time.perf_counter() - start < budget:
        trainer.step(batches[count % len(batches)])
        count += 1
    return (time.perf_counter() - start) / count


def sweep(framework: str, threads: int, points: list, budget: float, seed: int) -> dict:
    """Seconds per training step at each (batch, width) point, on random data."""
    cls = trainer_class(framework)
    results = []
    for batch_size, width in points:
        workload = workloads.sweep_workload(batch_size, width)
        trainer = cls(workloads.initial_weights(workload.sizes, seed), workload, threads)
        batches = [trainer.batch(x, y) for x, y in workloads.random_batches(workload, 4, seed)]
        results.append({"batch": batch_size, "width": width, "seconds": _seconds_per_step(trainer, batches, budget)})
    return {"points": results, "describe": trainer.describe()}


def gemm(framework: str, threads: int, shapes: list, timings: int, seed: int) -> dict:
    """Best seconds of each float32 product (M×K)·(K×N), with NumPy's BLAS or PyTorch's."""
    rng = numpy.random.default_rng(seed)
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        convert = torch.from_numpy
    else:
        convert = numpy.asarray
    results = []
    for m, k, n in shapes:
        a = convert(rng.random((m, k), dtype=numpy.float32))
        b = convert(rng.random((k, n), dtype=numpy.float32))
        a @ b
        inner = max(1, int(5e7 / (2 * m * k * n)))  # about 0.05 GFLOP per timing
        best = float("inf")
        for _ in range(timings):
            start = time.perf_counter()
            for _ in range(inner):
                a @ b
            best = min(best, (time.perf_counter() - start) / inner)
        results.append({"shape": [m, k, n], "seconds": best})
    return {"products": results, "describe": _gemm_description(framework, threads)}


def _gemm_description(framework: str, threads: int) -> dict:
    if framework == "torch":
        import torch

        from .trainers.torch_trainer import blas_name

        return {"version": torch.__version__, "blas": blas_name(), "threads": torch.get_num_threads()}
    return {"version": numpy.__version__, "blas": machine.numpy_blas(), "threads": threads}


JOBS = {"mlp": mlp, "micro": micro, "sweep": sweep, "gemm": gemm,
        "cnn": cnn.train, "cnn_profile": cnn.profile, "conv_ops": conv_ops.op_times, "charlm": charlm.train}
