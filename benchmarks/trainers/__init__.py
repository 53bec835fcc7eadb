"""One trainer per framework, all with the same small interface:

    trainer = Trainer(weights, workload, threads)
    batch = trainer.batch(x, y)      # NumPy float32 (B, 784), int64 (B,) -> native inputs (untimed)
    trainer.step(batch)              # one SGD-momentum step on the cross-entropy loss
    trainer.predict(x) -> labels     # NumPy int array of predicted classes
    trainer.describe() -> dict       # version, BLAS, threads

Modules are imported by name inside the worker subprocess, so that a process never
loads a framework it does not measure.
"""
from __future__ import annotations

import importlib
import importlib.util

FRAMEWORKS = {
    "chainrule": ("chainrule", "benchmarks.trainers.chainrule_trainer"),
    "torch": ("torch", "benchmarks.trainers.torch_trainer"),
    "torch-compile": ("torch", "benchmarks.trainers.torch_compile_trainer"),
    "jax": ("jax", "benchmarks.trainers.jax_trainer"),
    "numpy": ("numpy", "benchmarks.trainers.numpy_trainer"),
    "numpy-lean": ("numpy", "benchmarks.trainers.numpy_lean_trainer"),
    "chainrule-by-hand": ("chainrule", "benchmarks.trainers.chainrule_by_hand_trainer"),
    "chainrule-fused": ("chainrule", "benchmarks.trainers.chainrule_fused_trainer"),
    "chainrule-fused-step": ("chainrule", "benchmarks.trainers.chainrule_fused_step_trainer"),
}
"""name -> (package it needs, module defining ``Trainer``)."""

REFERENCE_ONLY = ("numpy-lean", "chainrule-by-hand", "chainrule-fused", "chainrule-fused-step")
"""Floors for the overhead-bound micro workload, measured only when asked for by name."""


def training_step(model, loss_fn, optimizer, batch) -> None:
    """One SGD step as a user writes it. chainrule's API and PyTorch's agree here, so the
    same five lines train both: forward, loss, zero_grad, backward, step."""
    x, y = batch
    loss = loss_fn(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def available(name: str) -> bool:
    """Whether the framework's package is installed."""
    return importlib.util.find_spec(FRAMEWORKS[name][0]) is not None


def trainer_class(name: str):
    return importlib.import_module(FRAMEWORKS[name][1]).Trainer
