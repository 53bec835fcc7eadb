"""The training loop: fit, evaluate, checkpoints, exact resume, and clean interruption.

A checkpoint written by ``fit`` holds everything needed to continue bit-for-bit:
the model and optimizer arrays, the scheduler, the epoch and the number of steps
already taken in it, the loader's position (seed, epoch, next batch), the global
random state (dropout masks), and the running sums of the epoch's metrics.
"""
from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy

from .. import distributed
from .. import random as cr_random
from ..errors import CheckpointError
from ..inspect import check_gradients
from ..nn import CrossEntropyLoss, Module
from ..optim import flatten_state, unflatten_state
from ..tensor import no_grad
from .checkpoint import load_checkpoint, save_checkpoint
from .metrics import accuracy_from_confusion, confusion_matrix
from .progress import EpochTable, progress_bar


class TrainingInterrupted(Exception):
    """Training stopped on SIGINT or SIGTERM after saving a resumable checkpoint."""

    def __init__(self, signum: int, checkpoint: Path | None):
        self.signum = signum
        self.checkpoint = checkpoint
        self.exit_code = 128 + signum
        where = f"; resume with --resume {checkpoint}" if checkpoint else " (no checkpoint path was given)"
        super().__init__(f"training interrupted by {signal.Signals(signum).name}{where}")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""


class _StopRequest:
    """Turns SIGINT/SIGTERM into a flag checked between steps, so a step is never cut in half.

    Under an MPI launcher, SIGUSR1 and SIGUSR2 stand for SIGINT and SIGTERM: mpiexec passes
    those two on to the ranks, where it would end the job at once on the others."""

    def __init__(self):
        self.signum = None
        self.previous = {}
        self.meaning = {signal.SIGINT: signal.SIGINT, signal.SIGTERM: signal.SIGTERM}
        if distributed.launched_by_mpi() and hasattr(signal, "SIGUSR1"):
            self.meaning.update({signal.SIGUSR1: signal.SIGINT, signal.SIGUSR2: signal.SIGTERM})

    def __enter__(self):
        for signum in self.meaning:
            try:
                self.previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: signals stay as they are
                pass
        return self

    def _handle(self, signum, frame):
        self.signum = self.meaning[signum]

    def __exit__(self, *exc):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        return False


def evaluate(model: Module, loader: Iterable, loss_fn: Callable | None = None,
             num_classes: int | None = None) -> dict:
    """Mean loss, accuracy and confusion matrix of ``model`` over ``loader`` (eval mode, no graph)."""
    loss_fn = loss_fn or CrossEntropyLoss()
    was_training = model.training
    model.eval()
    total_loss, count, predicted, actual = 0.0, 0, [], []
    with no_grad():
        for x, y in loader:
            out = model(x)
            total_loss += float(loss_fn(out, y).item()) * len(y)
            count += len(y)
            predicted.append(out.data.argmax(axis=1))
            actual.append(y.numpy())
    model.train(was_training)
    predicted = numpy.concatenate(predicted) if predicted else numpy.zeros(0, dtype=numpy.int64)
    actual = numpy.concatenate(actual) if actual else numpy.zeros(0, dtype=numpy.int64)
    classes = num_classes or int(max(predicted.max(initial=-1), actual.max(initial=-1)) + 1)
    counts = confusion_matrix(predicted, actual, classes)
    return {"loss": total_loss / count if count else float("nan"),
            "acc": accuracy_from_confusion(counts), "confusion": counts}


def fit(model: Module, optimizer, train_loader, *, epochs: int, loss_fn: Callable | None = None,
        test_loader=None, scheduler=None, scheduler_interval: str = "epoch",
        checkpoint: str | os.PathLike | None = None, resume: str | os.PathLike | None = None,
        recipe: dict | None = None, progress: bool = True, log: Callable[[str], None] = print,
        gradient_check: bool = True, run: dict | None = None) -> list[dict]:
    """Train ``model`` for ``epochs`` epochs; return the per-epoch history.

    Each epoch shows a progress bar and prints a table row (train loss and accuracy,
    test loss and accuracy, seconds, samples/s). With ``checkpoint`` a checkpoint is
    written atomically after every epoch, and on SIGINT/SIGTERM after the current step
    (then ``TrainingInterrupted`` is raised). ``resume`` continues from a checkpoint
    exactly where it stopped, mid-epoch included. A non-finite loss raises
    ``TrainingDiverged`` and leaves the last good checkpoint in place.
    ``recipe`` (JSON-able) is stored in checkpoints so the model can be rebuilt; ``run``
    (JSON-able, e.g. where the data came from) is stored beside it.
    ``gradient_check``: after each epoch's first step, warn (``cr.check_gradients``, once
    per parameter and problem) about gradients that are missing, all zero or not finite.

    Under MPI (``model`` a ``distributed.DistributedDataParallel``, the loader this rank's
    share) the ranks agree after every step on whether to stop (a signal reached any of
    them) or give up (a non-finite loss on any of them), so all stop at the same step; the
    table shows the metrics summed over the ranks. Give ``checkpoint`` on rank 0 only. A
    checkpoint holds the wrapped model's own names, so it resumes at any number of ranks.
    """
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}")
    if len(train_loader) == 0:
        size = getattr(train_loader, "batch_size", None)
        raise ValueError(
            "fit: the training loader yields no batch per epoch"
            + (f" (batch size {size}, drop_last={train_loader.drop_last}, {train_loader.samples} samples): "
               f"use a batch size no larger than the training set" if size is not None else "")
        )
    loss_fn = loss_fn or CrossEntropyLoss()
    state = _fresh_state()
    if resume is not None:
        state = _restore(resume, model, optimizer, scheduler, train_loader)
        log(f"resumed from {resume}: epoch {state['epoch'] + 1}, step {state['step']}")
    warned = set() if gradient_check else None
    table = EpochTable(log)
    table.header()
    for row in state["history"]:
        table.row(row)
    with _StopRequest() as stop:
        while state["epoch"] < epochs:
            _train_epoch(model, optimizer, train_loader, loss_fn, scheduler, scheduler_interval,
                         state, stop, checkpoint, recipe, progress, epochs, warned, run)
            row = _finish_epoch(model, loss_fn, test_loader, scheduler, scheduler_interval, state)
            table.row(row)
            if checkpoint is not None:
                _save(checkpoint, model, optimizer, scheduler, train_loader, state, recipe, run)
    return state["history"]


def _fresh_state() -> dict:
    return {"epoch": 0, "step": 0, "history": [],
            "sums": {"loss": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}}


def _train_epoch(model, optimizer, loader, loss_fn, scheduler, interval, state, stop, checkpoint,
                 recipe, progress, epochs, warned, run):
    model.train()
    gradients_checked = warned is None
    sums = state["sums"]
    started = time.perf_counter()
    # The loader resumes mid-epoch by itself (its state is in the checkpoint); an epoch
    # interrupted after its last step has no batches left.
    batches = iter(loader) if state["step"] < len(loader) else iter(())
    bar = progress_bar(total=len(loader), initial=state["step"], desc=f"epoch {state['epoch'] + 1}/{epochs}",
                       enabled=progress)
    ranks = distributed.world_size() if distributed.is_initialized() else 1
    for x, y in batches:
        out = model(x)
        loss = loss_fn(out, y)
        value = float(loss.item())
        if ranks == 1 and not math.isfinite(value):
            bar.close()
            raise TrainingDiverged(_diverged(value, state, checkpoint))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        signum = stop.signum
        if ranks > 1:
            # One small all-reduce per step, so that every rank stops (or gives up) at the same step.
            agreed = distributed.all_reduce(numpy.array([signum or 0, not math.isfinite(value)], numpy.int64), "max")
            if agreed[1]:
                bar.close()
                raise TrainingDiverged(_diverged(value, state, checkpoint))
            signum = int(agreed[0]) or None
        if not gradients_checked:
            check_gradients(model, warned)
            gradients_checked = True
        if scheduler is not None and interval == "step":
            scheduler.step()
        sums["loss"] += value * len(y)
        sums["correct"] += int((out.data.argmax(axis=1) == y.data).sum())
        sums["seen"] += len(y)
        state["step"] += 1
        bar.update(1)
        if signum is not None:
            sums["seconds"] += time.perf_counter() - started
            bar.close()
            path = None
            if checkpoint is not None:
                path = _save(checkpoint, model, optimizer, scheduler, loader, state, recipe, run)
            raise TrainingInterrupted(signum, path)
    bar.close()
    sums["seconds"] += time.perf_counter() - started


def _diverged(value: float, state: dict, checkpoint) -> str:
    return (f"the loss became {value} at epoch {state['epoch'] + 1}, step {state['step'] + 1}. "
            f"Try a smaller learning rate, check the data for NaN/Inf or unscaled inputs, "
            f"or run with detect_anomaly to find the op."
            + (f" The last good checkpoint is {checkpoint}." if checkpoint and Path(checkpoint).is_file()
               else " No checkpoint was written before it."))


def _finish_epoch(model, loss_fn, test_loader, scheduler, interval, state) -> dict:
    sums = state["sums"]
    if distributed.is_initialized() and distributed.world_size() > 1:
        totals = distributed.all_reduce(numpy.array([sums["loss"], sums["correct"], sums["seen"]], numpy.float64))
        sums = {**sums, "loss": float(totals[0]), "correct": int(totals[1]), "seen": int(totals[2])}
    row = {"epoch": state["epoch"] + 1,
           "train_loss": sums["loss"] / max(sums["seen"], 1),
           "train_acc": sums["correct"] / max(sums["seen"], 1),
           "seconds": sums["seconds"],
           "samples_per_s": sums["seen"] / sums["seconds"] if sums["seconds"] else float("nan")}
    if test_loader is not None:
        result = evaluate(model, test_loader, loss_fn)
        row["test_loss"], row["test_acc"] = result["loss"], result["acc"]
    if scheduler is not None and interval == "epoch":
        scheduler.step()
    state["history"].append(row)
    state["epoch"] += 1
    state["step"] = 0
    state["sums"] = _fresh_state()["sums"]
    return row


def _save(path, model, optimizer, scheduler, loader, state, recipe, run) -> Path:
    meta = {
        "format": "chainrule-checkpoint-1",
        "epoch": state["epoch"], "step": state["step"], "sums": state["sums"], "history": state["history"],
        "loader_state": loader.state_dict(),
        "rng_state": cr_random.get_state(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "recipe": recipe,
        "run": run,
    }
    return save_checkpoint(path, _unwrapped(model).state_dict(), flatten_state(optimizer.state_dict()), meta)


def _unwrapped(model: Module) -> Module:
    """The model a DistributedDataParallel wraps (its checkpoint names carry no ``module.``)."""
    return model.module if isinstance(model, distributed.DistributedDataParallel) else model


def _restore(path, model, optimizer, scheduler, loader) -> dict:
    """Load a checkpoint into the run's objects; CheckpointError naming the file for anything that
    does not fit (the model, the optimizer, the schedule, missing or malformed entries)."""
    model_state, optim_state, meta = load_checkpoint(path)
    try:
        _unwrapped(model).load_state_dict(model_state)
        optimizer.load_state_dict(unflatten_state(optim_state))
        if scheduler is not None and meta.get("scheduler") is not None:
            scheduler.load_state_dict(meta["scheduler"])
        cr_random.set_state(meta["rng_state"])
        loader.load_state_dict(meta["loader_state"])
        return {"epoch": int(meta["epoch"]), "step": int(meta["step"]), "history": list(meta["history"]),
                "sums": dict(meta["sums"])}
    except KeyError as missing:
        raise CheckpointError(f"{path}: cannot resume from it: it lacks the entry {missing}") from None
    except (ValueError, TypeError, AttributeError) as misfit:
        raise CheckpointError(f"{path}: cannot resume from it: {misfit}") from None
