"""RAdam: Adam with the variance of its adaptive rate rectified (Liu et al., 2020), PyTorch's rule."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..backend import array_module
from ..tensor import gradient_array
from .adam import Adam, decayed_direction, update_moments
from .optimizer import Optimizer, ParamsT


class RAdam(Optimizer):
    r"""RAdam, as ``torch.optim.RAdam``.

    With learning rate η, betas (β₁, β₂), ε, weight decay λ and gradient g_t::

        d_t = g_t + λ·θ_{t-1}       (or θ ← (1 − η·λ)·θ first, with decoupled_weight_decay)
        m_t, v_t as Adam's;  m̂ = m_t / (1 − β₁ᵗ)
        ρ_∞ = 2/(1 − β₂) − 1,  ρ_t = ρ_∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
        ρ_t > 5:  r = √((ρ_t − 4)(ρ_t − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ_t)),
                  θ_t = θ_{t-1} − m̂·η·(√(1 − β₂ᵗ) / (√v_t + ε))·r
        otherwise θ_t = θ_{t-1} − m̂·η     (too few steps to trust v: SGD with momentum)

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False):
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    _validate_options = Adam._validate_options

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
                state = self.state[p] = {"step": 0, "exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}
            state["step"] += 1
            step = state["step"]
            scratch, spare = self._workspace.arrays(param)
            direction = decayed_direction(group, param, gradient_array(p), scratch)
            update_moments(state["exp_avg"], state["exp_avg_sq"], direction, beta1, beta2, spare)
            bias_correction1, bias_correction2 = 1.0 - beta1**step, 1.0 - beta2**step
            rho_inf = 2.0 / (1.0 - beta2) - 1.0
            rho_t = rho_inf - 2.0 * step * (beta2**step) / bias_correction2
            update = xp.divide(state["exp_avg"], bias_correction1, out=scratch)
            xp.multiply(update, lr, out=update)
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                adaptive = xp.add(xp.sqrt(state["exp_avg_sq"], out=spare), eps, out=spare)
                xp.divide(bias_correction2**0.5, adaptive, out=adaptive)
                xp.multiply(update, adaptive, out=update)
                xp.multiply(update, rect, out=update)
            xp.subtract(param, update, out=param)
        return loss
