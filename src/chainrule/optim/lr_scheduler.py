"""Learning-rate schedules: StepLR, ExponentialLR, MultiStepLR, LambdaLR, CosineAnnealingLR,
CosineAnnealingWarmRestarts, LinearLR, OneCycleLR, SequentialLR (closed forms of the step
count), and ReduceLROnPlateau (driven by a metric, at the end of this file).

Each schedule is a closed-form function of its step count t: ``step()`` advances t and
writes the learning rate of t into every parameter group's ``"lr"``. PyTorch computes
most of these recursively from the current ``"lr"``; the closed forms give the same
sequence (to rounding, ~1e-16 relative) and make resuming exact and order-free. A
manual change to ``group["lr"]`` therefore lasts only until the next ``step()``.

Construct a schedule right after its optimizer: it records each group's starting
learning rate as ``group["initial_lr"]`` (kept if already there, so several schedules
on one optimizer agree on it) and sets the learning rate of t = 0. Call
``scheduler.step()`` after ``optimizer.step()``.

State dicts hold plain numbers, strings and lists only (JSON-serialisable), so they
can be saved next to arrays without pickle, e.g.
``numpy.array(json.dumps(scheduler.state_dict()))`` in an ``.npz``.

Warm-up then cosine decay over ``total`` steps::

    warmup = LinearLR(optimizer, start_factor=0.01, total_iters=warm)
    decay = CosineAnnealingLR(optimizer, T_max=total - warm)
    scheduler = SequentialLR(optimizer, [warmup, decay], milestones=[warm])
"""
from __future__ import annotations

import bisect
import math
from typing import Any

from .optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses define :meth:`lrs_at` and list their options in ``_options``."""

    _options: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer):
        _require_optimizer(optimizer)
        for name in self._options:
            value = getattr(self, name)
            for number in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(number, (int, float)) and not math.isfinite(number):
                    raise ValueError(f"{type(self).__name__}: {name} must be finite, got {value!r}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr: list[float] = []
        self._apply(0)

    def lrs_at(self, epoch: int) -> list[float]:
        """The learning rate of every parameter group after ``epoch`` steps."""
        raise NotImplementedError(f"{type(self).__name__} must implement lrs_at(epoch)")

    def step(self) -> None:
        """Advance one step and set the optimizer's learning rates."""
        self._apply(self.last_epoch + 1)

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the latest ``step()`` (or by construction)."""
        return list(self._last_lr)

    def _apply(self, epoch: int) -> None:
        lrs = self.lrs_at(epoch)
        for number, lr in enumerate(lrs):
            if not math.isfinite(lr):
                options = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._options)
                raise ValueError(f"{type(self).__name__}({options}) gives parameter group {number} the learning "
                                 f"rate {lr} at step {epoch}: its options and base rates must be finite")
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self.last_epoch = epoch
        self._last_lr = list(lrs)

    def state_dict(self) -> dict[str, Any]:
        """``last_epoch``, ``base_lrs`` and the schedule's options, as plain values."""
        state = {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}
        for name in self._options:
            value = getattr(self, name)
            state[name] = list(value) if isinstance(value, list) else value
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state dict and set the learning rates of its step again."""
        expected = {"last_epoch", "base_lrs", *self._options}
        if set(state_dict) != expected:
            raise ValueError(
                f"{type(self).__name__} state dict must have the keys {sorted(expected)}, got {sorted(state_dict)}"
            )
        for name, value in state_dict.items():
            if name != "last_epoch":
                setattr(self, name, list(value) if isinstance(value, list) else value)
        self._apply(int(state_dict["last_epoch"]))


class StepLR(LRScheduler):
    r"""Decay by ``gamma`` every ``step_size`` steps: η_t = η₀·γ^⌊t / step_size⌋."""

    _options = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def lrs_at(self, epoch: int) -> list[float]:
        factor = self.gamma ** (epoch // self.step_size)
        return [base_lr * factor for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Decay by ``gamma`` every step: η_t = η₀·γ^t."""

    _options = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float):
        self.gamma = gamma
        super().__init__(optimizer)

    def lrs_at(self, epoch: int) -> list[float]:
        return [base_lr * self.gamma**epoch for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Decay by ``gamma`` at each milestone reached: η_t = η₀·γ^#{m ∈ milestones : m ≤ t}."""

    _options = ("milestones", "gamma")

    def __init__(self, optimizer: Optimizer, milestones: list[int], gamma: float = 0.1):
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer)

    def lrs_at(self, epoch: int) -> list[float]:
        factor = self.gamma ** bisect.bisect_right(self.milestones, epoch)
        return [base_lr * factor for base_lr in self.base_lrs]


class LambdaLR(LRScheduler):
    r"""η_t = η₀·λ(t) for a function λ of the step count (one per parameter group, or one for all).
    Its state dict holds the step count and base rates, not the functions (as PyTorch's does
    for plain functions): give the same ``lr_lambda`` to the schedule that loads it."""

    def __init__(self, optimizer: Optimizer, lr_lambda):
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 1
        functions = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(functions) != groups or not all(callable(f) for f in functions):
            raise ValueError(f"LambdaLR: lr_lambda must be a function, or a list of {groups} functions "
                             f"(one per parameter group)")
        self.lr_lambdas = functions
        super().__init__(optimizer)

    def lrs_at(self, epoch: int) -> list[float]:
        return [base_lr * float(f(epoch)) for base_lr, f in zip(self.base_lrs, self.lr_lambdas)]


class CosineAnnealingLR(LRScheduler):
    r"""Half a cosine from η₀ down to ``eta_min`` over ``T_max`` steps (then back up):

    η_t = η_min + (η₀ − η_min)·(1 + cos(π·t / T_max)) / 2
    """

    _options = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        if T_max < 1:
            raise ValueError(f"T_max must be a positive integer, got {T_max}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

    def lrs_at(self, epoch: int) -> list[float]:
        cosine = 1 + math.cos(math.pi * epoch / self.T_max)
        return [self.eta_min + (base_lr - self.eta_min) * cosine / 2 for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing restarted every cycle, the cycles growing by ``T_mult`` (SGDR):

    η_t = η_min + (η₀ − η_min)·(1 + cos(π·T_cur / T_i)) / 2, with T_i = T_0·T_mult^i the length of
    the current cycle and T_cur the steps since it began (PyTorch's step-by-step sequence).
    """

    _options = ("T_0", "T_mult", "eta_min")

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0):
        if not isinstance(T_0, int) or T_0 < 1:
            raise ValueError(f"T_0 must be a positive integer, got {T_0!r}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"T_mult must be an integer of at least 1, got {T_mult!r}")
        self.T_0, self.T_mult, self.eta_min = T_0, T_mult, eta_min
        super().__init__(optimizer)

    def cycle(self, epoch: int) -> tuple[int, int]:
        """(T_cur, T_i): the steps into the cycle that step ``epoch`` falls in, and that cycle's length."""
        length, start = self.T_0, 0
        while epoch >= start + length:  # integer arithmetic: exact where a logarithm would round
            start, length = start + length, length * self.T_mult
        return epoch - start, length

    def lrs_at(self, epoch: int) -> list[float]:
        into, length = self.cycle(epoch)
        cosine = 1 + math.cos(math.pi * into / length)
        return [self.eta_min + (base_lr - self.eta_min) * cosine / 2 for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Scale η₀ linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` steps:

    η_t = η₀·(s + (e − s)·min(t, T) / T)
    """

    _options = ("start_factor", "end_factor", "total_iters")

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
    ):
        if not 0 < start_factor <= 1:
            raise ValueError(f"start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"end_factor must be in [0, 1], got {end_factor}")
        if total_iters < 1:
            raise ValueError(f"total_iters must be a positive integer, got {total_iters}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer)

    def lrs_at(self, epoch: int) -> list[float]:
        # PyTorch's order of operations, so the factors agree to the last bit.
        factor = self.start_factor + (self.end_factor - self.start_factor) * min(self.total_iters, epoch) / self.total_iters
        return [base_lr * factor for base_lr in self.base_lrs]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin): up to ``max_lr``, then far down, in ``total_steps``.

    With η_init = max_lr / div_factor, η_min = η_init / final_div_factor, the first phase
    ends at step p = pct_start·total_steps − 1 and the second at total_steps − 1::

        t ≤ p:  η_t = anneal(η_init, max_lr, t / p)          momentum: max → base
        t > p:  η_t = anneal(max_lr, η_min, (t − p) / (total_steps − 1 − p))
                                                            momentum: base → max
        anneal(a, b, x) = b + (a − b)/2·(1 + cos(π·x))    ("cos")
                        = (b − a)·x + a                   ("linear")

    With ``cycle_momentum`` the optimizer's ``momentum`` (SGD) or β₁ (Adam) follows
    the momentum schedule. Stepping past ``total_steps`` raises ValueError.
    """

    _options = (
        "total_steps",
        "pct_start",
        "anneal_strategy",
        "cycle_momentum",
        "max_lrs",
        "min_lrs",
        "base_momentums",
        "max_momentums",
    )

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ):
        _require_optimizer(optimizer)
        if not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"total_steps must be a positive integer, got {total_steps}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"pct_start must be in [0, 1], got {pct_start}")
        for name, factor in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            if not (isinstance(factor, (int, float)) and math.isfinite(factor) and factor > 0):
                raise ValueError(f"{name} must be a positive finite number, got {factor!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        if cycle_momentum and "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
            raise ValueError("cycle_momentum needs an optimizer with a momentum or betas option")
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = cycle_momentum
        self.max_lrs = _per_group("max_lr", max_lr, optimizer)
        self.min_lrs = [lr / div_factor / final_div_factor for lr in self.max_lrs]
        self.base_momentums = _per_group("base_momentum", base_momentum, optimizer)
        self.max_momentums = _per_group("max_momentum", max_momentum, optimizer)
        for group, lr in zip(optimizer.param_groups, self.max_lrs):
            group["initial_lr"] = lr / div_factor
        super().__init__(optimizer)

    def _anneal(self, start: float, end: float, fraction: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1)
        return (end - start) * fraction + start

    def _phase(self, epoch: int) -> tuple[int, float]:
        """Which phase step ``epoch`` falls in, and how far into it (0 to 1)."""
        if epoch > self.total_steps:
            raise ValueError(f"OneCycleLR stepped {epoch} times, beyond its total_steps={self.total_steps}")
        first_end = float(self.pct_start * self.total_steps) - 1
        if epoch <= first_end:
            return 0, epoch / first_end
        return 1, (epoch - first_end) / (self.total_steps - 1 - first_end)

    def lrs_at(self, epoch: int) -> list[float]:
        phase, fraction = self._phase(epoch)
        if phase == 0:
            ends = zip(self.base_lrs, self.max_lrs)
        else:
            ends = zip(self.max_lrs, self.min_lrs)
        return [self._anneal(start, end, fraction) for start, end in ends]

    def momentums_at(self, epoch: int) -> list[float]:
        """The momentum (or β₁) of every parameter group after ``epoch`` steps."""
        phase, fraction = self._phase(epoch)
        if phase == 0:
            ends = zip(self.max_momentums, self.base_momentums)
        else:
            ends = zip(self.base_momentums, self.max_momentums)
        return [self._anneal(start, end, fraction) for start, end in ends]

    def _apply(self, epoch: int) -> None:
        super()._apply(epoch)
        if self.cycle_momentum:
            for group, momentum in zip(self.optimizer.param_groups, self.momentums_at(epoch)):
                if "betas" in group:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` from its own
    step 0, and so on: at global step t the active schedule is at t − (its milestone).
    """

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler], milestones: list[int]):
        if not schedulers:
            raise ValueError("SequentialLR needs at least one scheduler")
        for number, scheduler in enumerate(schedulers):
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"scheduler {number} ({type(scheduler).__name__}) drives another optimizer")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR needs one milestone fewer than schedulers: got {len(schedulers)} schedulers "
                f"and {len(milestones)} milestones"
            )
        if list(milestones) != sorted(milestones):
            raise ValueError(f"milestones must be increasing, got {milestones}")
        self.schedulers = list(schedulers)
        self.milestones = list(milestones)
        super().__init__(optimizer)

    def _active(self, epoch: int) -> tuple[LRScheduler, int]:
        number = bisect.bisect_right(self.milestones, epoch)
        start = self.milestones[number - 1] if number > 0 else 0
        return self.schedulers[number], epoch - start

    def lrs_at(self, epoch: int) -> list[float]:
        scheduler, local_epoch = self._active(epoch)
        return scheduler.lrs_at(local_epoch)

    def _apply(self, epoch: int) -> None:
        scheduler, local_epoch = self._active(epoch)
        scheduler._apply(local_epoch)
        self.last_epoch = epoch
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """``last_epoch``, ``milestones`` and the state dict of every scheduler."""
        return {
            "last_epoch": self.last_epoch,
            "milestones": list(self.milestones),
            "schedulers": [scheduler.state_dict() for scheduler in self.schedulers],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the schedulers' states, then the learning rates of the saved step."""
        if len(state_dict["schedulers"]) != len(self.schedulers):
            raise ValueError(
                f"state dict holds {len(state_dict['schedulers'])} schedulers, this SequentialLR has "
                f"{len(self.schedulers)}"
            )
        for scheduler, saved in zip(self.schedulers, state_dict["schedulers"]):
            scheduler.load_state_dict(saved)
        self.milestones = list(state_dict["milestones"])
        self._apply(int(state_dict["last_epoch"]))


def _require_optimizer(optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"a learning-rate schedule needs an Optimizer, got a {type(optimizer).__name__}")


def _per_group(name: str, value: float | list[float], optimizer: Optimizer) -> list[float]:
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} has {len(value)} values for {len(optimizer.param_groups)} parameter groups"
            )
        return list(value)
    return [value] * len(optimizer.param_groups)


class ReduceLROnPlateau:
    """Divide the learning rate by 1/``factor`` when a metric has stopped improving for ``patience``
    steps (PyTorch's ``ReduceLROnPlateau``): call ``step(metric)`` once per epoch, after validation.

    mode "min" (a loss) or "max" (an accuracy); an improvement must beat the best by ``threshold``,
    relative ("rel") or absolute ("abs"); after a reduction, ``cooldown`` steps pass before counting
    again; no rate goes below ``min_lr``, and a change smaller than ``eps`` is not made.
    """

    _options = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lrs", "eps")

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr=0.0,
                 eps: float = 1e-8):
        _require_optimizer(optimizer)
        if factor >= 1.0 or factor < 0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got {factor}")
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max' and threshold_mode 'rel' or 'abs', "
                             f"got {mode!r} and {threshold_mode!r}")
        groups = len(optimizer.param_groups)
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * groups
        if len(min_lrs) != groups:
            raise ValueError(f"ReduceLROnPlateau: {len(min_lrs)} min_lr values for {groups} parameter groups")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, float(factor), int(patience)
        self.threshold, self.threshold_mode, self.cooldown = float(threshold), threshold_mode, int(cooldown)
        self.min_lrs, self.eps = [float(lr) for lr in min_lrs], float(eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def _better(self, value: float) -> bool:
        scale = (1.0 - self.threshold if self.mode == "min" else 1.0 + self.threshold)
        if self.threshold_mode == "rel":
            bound = self.best * scale
        else:
            bound = self.best - self.threshold if self.mode == "min" else self.best + self.threshold
        return value < bound if self.mode == "min" else value > bound

    def step(self, metrics: float) -> None:
        value = float(metrics)
        self.last_epoch += 1
        if self._better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Plain values only (JSON-serialisable), as the other schedules'."""
        state = {name: getattr(self, name) for name in self._options}
        state.update(best=self.best, num_bad_epochs=self.num_bad_epochs, cooldown_counter=self.cooldown_counter,
                     last_epoch=self.last_epoch, last_lr=list(self._last_lr))
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        for name in (*self._options, "best", "num_bad_epochs", "cooldown_counter", "last_epoch"):
            setattr(self, name, state_dict[name])
        self._last_lr = list(state_dict["last_lr"])
