"""Adagrad: per-coordinate steps scaled by the root of the summed squared gradients."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..backend import array_module
from ..tensor import gradient_array
from .gradient import effective_gradient
from .optimizer import Optimizer, ParamsT, check_finite


class Adagrad(Optimizer):
    r"""Adagrad, PyTorch's update rule.

    With learning rate η, its decay κ, weight decay λ, ε and gradient g_t at step t::

        d_t = g_t + λ·θ_{t-1}              (−g_t when maximize)
        s_t = s_{t-1} + d_t·d_t            (s_0 = initial_accumulator_value)
        θ_t = θ_{t-1} − η/(1 + (t − 1)·κ) · d_t / (√s_t + ε)

    State per parameter: ``step`` (int) and ``sum`` (s).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *, maximize: bool = False):
        defaults = {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)

    def _validate_options(self, options: dict[str, Any]) -> None:
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_finite("Adagrad", name, options[name], minimum=0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter whose ``grad`` is not None."""
        loss = closure() if closure is not None else None
        self._gradients_to_follow()
        for group, p in self._with_gradients():
            lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
            param = p.data
            xp = array_module(param)
            state = self.state.get(p)
            if not state:
                state = self.state[p] = {"step": 0, "sum": xp.full_like(param, group["initial_accumulator_value"])}
            state["step"] += 1
            scratch, spare = self._workspace.arrays(param)
            direction = effective_gradient(param, gradient_array(p), float(group["weight_decay"]), bool(group["maximize"]),
                                           out=scratch)
            total = state["sum"]
            xp.add(total, xp.multiply(direction, direction, out=spare), out=total)
            denom = xp.add(xp.sqrt(total, out=spare), eps, out=spare)
            step_size = lr / (1 + (state["step"] - 1) * lr_decay)
            ratio = xp.divide(direction, denom, out=spare)
            xp.subtract(param, xp.multiply(ratio, step_size, out=spare), out=param)
        return loss
