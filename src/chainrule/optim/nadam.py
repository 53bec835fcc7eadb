"""NAdam: Adam with Nesterov momentum (Dozat, 2016), PyTorch's update rule."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy

from ..backend import array_module
from ..tensor import gradient_array
from .adam import Adam, decayed_direction, update_moments
from .optimizer import Optimizer, ParamsT, check_finite


class NAdam(Optimizer):
    r"""NAdam, as ``torch.optim.NAdam``.

    With learning rate η, betas (β₁, β₂), ε, weight decay λ, momentum decay ψ, gradient g_t::

        d_t = g_t + λ·θ_{t-1}       (or θ ← (1 − η·λ)·θ first, with decoupled_weight_decay)
        μ_t = β₁·(1 − ½·0.96^(t·ψ)),  Π_t = Π_{t-1}·μ_t     (Π_0 = 1)
        m_t, v_t as Adam's,  D = √(v_t / (1 − β₂ᵗ)) + ε
        θ_t = θ_{t-1} − η·(1 − μ_t)/(1 − Π_t)·d_t/D − η·μ_{t+1}/(1 − Π_t·μ_{t+1})·m_t/D

    State per parameter: ``step``, ``mu_product`` (Π, a 0-d array of the parameter's dtype), ``exp_avg`` (m),
    ``exp_avg_sq`` (v).
    """

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False):
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                    "maximize": maximize}
        super().__init__(params, defaults)

    def _validate_options(self, options: dict[str, Any]) -> None:
        Adam._validate_options(self, options)
        check_finite(type(self).__name__, "momentum_decay", options["momentum_decay"], minimum=0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter whose ``grad`` is not None."""
        loss = closure() if closure is not None else None
        self._gradients_to_follow()
        for group, p in self._with_gradients():
            lr, eps = float(group["lr"]), float(group["eps"])
            beta1, beta2 = (float(beta) for beta in group["betas"])
            param = p.data
            xp = array_module(param)
            state = self.state.get(p)
            if not state:
                # Π in the parameter's precision, as PyTorch keeps it (a float32 product for float32)
                state = self.state[p] = {"step": 0, "mu_product": numpy.array(1.0, dtype=param.dtype),
                                         "exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}
            state["step"] += 1
            step = state["step"]
            scratch, spare = self._workspace.arrays(param)
            direction = decayed_direction(group, param, gradient_array(p), scratch)
            momentum_decay = float(group["momentum_decay"])
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
            state["mu_product"] = numpy.asarray(state["mu_product"] * state["mu_product"].dtype.type(mu))
            mu_product = float(state["mu_product"])
            update_moments(state["exp_avg"], state["exp_avg_sq"], direction, beta1, beta2, spare)
            denom = xp.divide(state["exp_avg_sq"], 1.0 - beta2**step, out=spare)
            xp.add(xp.sqrt(denom, out=denom), eps, out=denom)
            # the gradient's share first (direction may be scratch itself, never grad: it is not written)
            ratio = xp.divide(direction, denom, out=scratch)
            xp.subtract(param, xp.multiply(ratio, lr * (1.0 - mu) / (1.0 - mu_product), out=ratio), out=param)
            ratio = xp.divide(state["exp_avg"], denom, out=scratch)
            xp.subtract(param, xp.multiply(ratio, lr * mu_next / (1.0 - mu_product * mu_next), out=ratio), out=param)
        return loss
