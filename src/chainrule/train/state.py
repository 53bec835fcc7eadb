"""TrainingState: everything a run holds that a checkpoint keeps, in one object.

``fit`` trains one; ``TrainingState.save`` writes it and ``restore`` reads it back
(the checkpoint is read once); ``chainrule train``, its ``--trace`` and ``evaluate``
build theirs through ``run.build_state`` from the same recipe.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy

from .. import distributed
from .. import random as cr_random
from ..errors import CheckpointError
from ..inspect import check_gradients
from ..nn import CrossEntropyLoss, Module
from ..optim import flatten_state, unflatten_state
from .checkpoint import load_checkpoint, save_checkpoint
from .progress import progress_bar


class TrainingInterrupted(Exception):
    """Training stopped on SIGINT or SIGTERM after saving a resumable checkpoint."""

    def __init__(self, signum: int, checkpoint: Path | None):
        import signal

        self.signum = signum
        self.checkpoint = checkpoint
        self.exit_code = 128 + signum
        where = f"; resume with --resume {checkpoint}" if checkpoint else " (no checkpoint path was given)"
        super().__init__(f"training interrupted by {signal.Signals(signum).name}{where}")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""


def _fresh_sums() -> dict:
    return {"loss": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}


@dataclass
class TrainingState:
    """A run: what trains (model, optimizer, schedule, loader, loss) and how far it got.

    ``epoch`` counts finished epochs, ``step`` the steps taken in the current one, ``sums``
    its running metrics, ``history`` one row per finished epoch. The loader keeps its own
    position and the global generator the dropout masks; ``save`` writes both.
    ``recipe`` and ``run`` (JSON-able) go into checkpoints beside them.
    """

    model: Module
    optimizer: object
    train_loader: object
    loss_fn: Callable = field(default_factory=CrossEntropyLoss)
    scheduler: object = None
    scheduler_interval: str = "epoch"
    recipe: dict | None = None
    run: dict | None = None
    epoch: int = 0
    step: int = 0
    history: list = field(default_factory=list)
    sums: dict = field(default_factory=_fresh_sums)

    def train_epoch(self, stop, checkpoint, epochs: int, progress: bool, warned: set | None) -> None:
        """Train until the epoch ends (or a signal asks to stop: save, then TrainingInterrupted)."""
        model, optimizer, loader, sums = self.model, self.optimizer, self.train_loader, self.sums
        model.train()
        gradients_checked = warned is None
        started = time.perf_counter()
        # The loader resumes mid-epoch by itself (its state is in the checkpoint); an epoch
        # interrupted after its last step has no batches left.
        batches = iter(loader) if self.step < len(loader) else iter(())
        bar = progress_bar(total=len(loader), initial=self.step, desc=f"epoch {self.epoch + 1}/{epochs}",
                           enabled=progress)
        ranks = distributed.world_size() if distributed.is_initialized() else 1
        for x, y in batches:
            out = model(x)
            loss = self.loss_fn(out, y)
            value = float(loss.item())
            if ranks == 1 and not math.isfinite(value):
                bar.close()
                raise TrainingDiverged(self._diverged(value, checkpoint))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            signum = stop.signum
            if ranks > 1:
                # One small all-reduce per step, so that every rank stops (or gives up) at the same step.
                agreed = distributed.all_reduce(numpy.array([signum or 0, not math.isfinite(value)], numpy.int64), "max")
                if agreed[1]:
                    bar.close()
                    raise TrainingDiverged(self._diverged(value, checkpoint))
                signum = int(agreed[0]) or None
            if not gradients_checked:
                check_gradients(model, warned)
                gradients_checked = True
            if self.scheduler is not None and self.scheduler_interval == "step":
                self.scheduler.step()
            # Per target: a sample's label, or each token of a sequence's next tokens (N, T).
            sums["loss"] += value * y.data.size
            sums["correct"] += int((out.data.argmax(axis=-1) == y.data).sum())
            sums["seen"] += y.data.size
            self.step += 1
            bar.update(1)
            if signum is not None:
                sums["seconds"] += time.perf_counter() - started
                bar.close()
                raise TrainingInterrupted(signum, None if checkpoint is None else self.save(checkpoint))
        bar.close()
        sums["seconds"] += time.perf_counter() - started

    def finish_epoch(self, test_loader, evaluate: Callable) -> dict:
        """Close the epoch: its table row (test metrics from ``evaluate``), the schedule's step."""
        sums = self.sums
        if distributed.is_initialized() and distributed.world_size() > 1:
            totals = distributed.all_reduce(numpy.array([sums["loss"], sums["correct"], sums["seen"]], numpy.float64))
            sums = {**sums, "loss": float(totals[0]), "correct": int(totals[1]), "seen": int(totals[2])}
        row = {"epoch": self.epoch + 1,
               "train_loss": sums["loss"] / max(sums["seen"], 1),
               "train_acc": sums["correct"] / max(sums["seen"], 1),
               "seconds": sums["seconds"],
               "samples_per_s": sums["seen"] / sums["seconds"] if sums["seconds"] else float("nan")}
        if test_loader is not None:
            result = evaluate(self.model, test_loader, self.loss_fn)
            row["test_loss"], row["test_acc"] = result["loss"], result["acc"]
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self.scheduler.step()
        self.history.append(row)
        self.epoch += 1
        self.step = 0
        self.sums = _fresh_sums()
        return row

    def _diverged(self, value: float, checkpoint) -> str:
        return (f"the loss became {value} at epoch {self.epoch + 1}, step {self.step + 1}. "
                f"Try a smaller learning rate, check the data for NaN/Inf or unscaled inputs, "
                f"or run with detect_anomaly to find the op."
                + (f" The last good checkpoint is {checkpoint}." if checkpoint and Path(checkpoint).is_file()
                   else " No checkpoint was written before it."))

    @property
    def unwrapped_model(self) -> Module:
        """The model a DistributedDataParallel wraps (its checkpoint names carry no ``module.``)."""
        model = self.model
        return model.module if isinstance(model, distributed.DistributedDataParallel) else model

    def save(self, path) -> Path:
        """Write the whole state to ``path`` atomically."""
        meta = {
            "format": "chainrule-checkpoint-1",
            "epoch": self.epoch, "step": self.step, "sums": self.sums, "history": self.history,
            "loader_state": self.train_loader.state_dict(),
            "rng_state": cr_random.get_state(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "recipe": self.recipe,
            "run": self.run,
        }
        return save_checkpoint(path, self.unwrapped_model.state_dict(), flatten_state(self.optimizer.state_dict()), meta)

    def restore(self, path, contents: tuple | None = None) -> None:
        """Continue from the checkpoint at ``path`` (``contents``: what ``load_checkpoint`` read from
        it, when the caller has it already); CheckpointError naming the file for anything that does
        not fit (the model, the optimizer, the schedule, missing or malformed entries)."""
        model_state, optim_state, meta = contents if contents is not None else load_checkpoint(path)
        try:
            self.unwrapped_model.load_state_dict(model_state)
            self.optimizer.load_state_dict(unflatten_state(optim_state))
            if self.scheduler is not None and meta.get("scheduler") is not None:
                self.scheduler.load_state_dict(meta["scheduler"])
            cr_random.set_state(meta["rng_state"])
            self.train_loader.load_state_dict(meta["loader_state"])
            self.epoch, self.step = int(meta["epoch"]), int(meta["step"])
            self.history, self.sums = list(meta["history"]), dict(meta["sums"])
        except KeyError as missing:
            raise CheckpointError(f"{path}: cannot resume from it: it lacks the entry {missing}") from None
        except (ValueError, TypeError, AttributeError) as misfit:
            raise CheckpointError(f"{path}: cannot resume from it: {misfit}") from None
