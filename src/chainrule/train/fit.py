"""The training loop: fit, evaluate, checkpoints, exact resume, and clean interruption.

A checkpoint written by ``fit`` holds everything needed to continue bit-for-bit:
the model and optimizer arrays, the scheduler, the epoch and the number of steps
already taken in it, the loader's position (seed, epoch, next batch), the global
random state (dropout masks), and the running sums of the epoch's metrics.
"""
from __future__ import annotations

import os
import signal
from typing import Callable, Iterable

import numpy

from .. import backend, distributed
from ..nn import CrossEntropyLoss, Module
from ..tensor import no_grad
from .metrics import accuracy_from_confusion, confusion_matrix
from .progress import COLUMNS, EpochTable, progress_bar
from .state import TrainingDiverged, TrainingInterrupted, TrainingState  # noqa: F401 - public here too


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
             num_classes: int | None = None, progress: bool = False) -> dict:
    """Mean loss, accuracy and confusion matrix of ``model`` over ``loader`` (eval mode, no graph), per
    target: a label, or each next token of a sequence (outputs (N, T, V), targets (N, T)).
    ``progress``: a bar over the batches (on a terminal only)."""
    loss_fn = loss_fn or CrossEntropyLoss()
    was_training = model.training
    model.eval()
    total_loss, count, predicted, actual = 0.0, 0, [], []
    bar = progress_bar(total=len(loader), desc="test", enabled=progress)
    with no_grad():
        for x, y in loader:
            out = model(x)
            total_loss += float(loss_fn(out, y).item()) * y.data.size
            count += y.data.size
            predicted.append(backend.to_numpy(out.data.argmax(axis=-1)).ravel())
            actual.append(y.numpy().ravel())
            bar.update(1)
    bar.close()
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
        gradient_check: bool = True, run: dict | None = None, resume_contents: tuple | None = None) -> list[dict]:
    """Train ``model`` for ``epochs`` epochs; return the per-epoch history.

    Each epoch shows a progress bar and prints a table row (train loss and accuracy,
    test loss and accuracy, seconds, samples/s). With ``checkpoint`` a checkpoint is
    written atomically after every epoch, and on SIGINT/SIGTERM after the current step
    (then ``TrainingInterrupted`` is raised). ``resume`` continues from a checkpoint
    exactly where it stopped, mid-epoch included (``resume_contents``: what
    ``load_checkpoint(resume)`` returned, when the caller has read it already). A non-finite
    loss raises ``TrainingDiverged`` and leaves the last good checkpoint in place.
    ``recipe`` (JSON-able) is stored in checkpoints so the model can be rebuilt; ``run``
    (JSON-able, e.g. where the data came from) is stored beside it.
    ``gradient_check``: after each epoch's first step, warn (``cr.check_gradients``, once
    per parameter and problem) about gradients that are missing, all zero or not finite.
    The run's objects and progress are one :class:`TrainingState`.

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
    state = TrainingState(model, optimizer, train_loader, loss_fn or CrossEntropyLoss(), scheduler,
                          scheduler_interval, recipe, run)
    return fit_state(state, epochs=epochs, test_loader=test_loader, checkpoint=checkpoint, resume=resume,
                     resume_contents=resume_contents, progress=progress, log=log, gradient_check=gradient_check)


def fit_state(state: TrainingState, *, epochs: int, test_loader=None, checkpoint: str | os.PathLike | None = None,
              resume: str | os.PathLike | None = None, resume_contents: tuple | None = None, progress: bool = True,
              log: Callable[[str], None] = print, gradient_check: bool = True, columns: tuple = COLUMNS,
              add_to_row: Callable[[dict], None] | None = None) -> list[dict]:
    """:func:`fit` on a :class:`TrainingState` built beforehand (``run.build_state``). ``columns``: the
    epoch table's (progress.EpochTable); ``add_to_row``: adds derived entries to each epoch's row
    (bits per character from the losses) before it is printed and kept."""
    if resume is not None:
        state.restore(resume, resume_contents)
        log(f"resumed from {resume}: epoch {state.epoch + 1}, step {state.step}")
    warned = set() if gradient_check else None
    table = EpochTable(log, columns)
    table.header()
    for row in state.history:
        table.row(row)
    with _StopRequest() as stop:
        while state.epoch < epochs:
            state.train_epoch(stop, checkpoint, epochs, progress, warned)
            row = state.finish_epoch(test_loader, lambda *args: evaluate(*args, progress=progress))
            if add_to_row is not None:
                add_to_row(row)
            table.row(row)
            if checkpoint is not None:
                state.save(checkpoint)
    return state.history
