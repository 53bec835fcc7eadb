"""RMSprop: steps scaled by the root of a running average of squared gradients."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..backend import array_module
from ..tensor import gradient_array
from .gradient import effective_gradient
from .optimizer import Optimizer, ParamsT, check_finite


class RMSprop(Optimizer):
    r"""RMSprop, PyTorch's update rule (optionally centred, with momentum).

    With learning rate η, smoothing α, ε, weight decay λ, momentum μ and gradient g_t::

        d_t = g_t + λ·θ_{t-1}                       (−g_t when maximize)
        v_t = α·v_{t-1} + (1 − α)·d_t·d_t           (v_0 = 0)
        a_t = v_t − ḡ_t², ḡ_t = ḡ_{t-1} + (1 − α)·(d_t − ḡ_{t-1})   when centred, else a_t = v_t
        b_t = μ·b_{t-1} + d_t / (√a_t + ε),  θ_t = θ_{t-1} − η·b_t  when μ > 0
        θ_t = θ_{t-1} − η·d_t / (√a_t + ε)                            otherwise

    State per parameter: ``step``, ``square_avg`` (v), ``grad_avg`` (ḡ, centred) and
    ``momentum_buffer`` (b, μ > 0).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *, maximize: bool = False):
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay, "momentum": momentum,
                    "centered": centered, "maximize": maximize}
        super().__init__(params, defaults)

    def _validate_options(self, options: dict[str, Any]) -> None:
        for name in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            check_finite("RMSprop", name, options[name], minimum=0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter whose ``grad`` is not None."""
        loss = closure() if closure is not None else None
        self._gradients_to_follow()
        for group, p in self._with_gradients():
            lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
            momentum, centered = float(group["momentum"]), bool(group["centered"])
            param = p.data
            xp = array_module(param)
            state = self.state.get(p)
            if not state:
                state = self.state[p] = {"step": 0, "square_avg": xp.zeros_like(param)}
                if momentum > 0:
                    state["momentum_buffer"] = xp.zeros_like(param)
                if centered:
                    state["grad_avg"] = xp.zeros_like(param)
            state["step"] += 1
            scratch, spare = self._workspace.arrays(param)
            direction = effective_gradient(param, gradient_array(p), float(group["weight_decay"]), bool(group["maximize"]),
                                           out=scratch)
            square_avg = state["square_avg"]
            xp.multiply(square_avg, alpha, out=square_avg)
            xp.add(square_avg, xp.multiply(xp.multiply(direction, direction, out=spare), 1 - alpha, out=spare),
                   out=square_avg)
            if centered:
                grad_avg = state["grad_avg"]
                xp.add(grad_avg, xp.multiply(xp.subtract(direction, grad_avg, out=spare), 1 - alpha, out=spare),
                       out=grad_avg)
                average = xp.sqrt(xp.subtract(square_avg, xp.multiply(grad_avg, grad_avg, out=spare), out=spare),
                                  out=spare)
            else:
                average = xp.sqrt(square_avg, out=spare)
            denom = xp.add(average, eps, out=spare)
            if momentum > 0:
                buffer = state["momentum_buffer"]
                xp.multiply(buffer, momentum, out=buffer)
                xp.add(buffer, xp.divide(direction, denom, out=spare), out=buffer)
                xp.subtract(param, xp.multiply(buffer, lr, out=spare), out=param)
            else:
                xp.subtract(param, xp.multiply(xp.divide(direction, denom, out=spare), lr, out=spare), out=param)
        return loss
