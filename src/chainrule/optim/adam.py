"""Adam and AdamW (decoupled weight decay), with optional AMSGrad."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..backend import array_module
from ..tensor import gradient_array
from .gradient import effective_gradient
from .optimizer import Optimizer, ParamsT, check_finite


class Adam(Optimizer):
    r"""Adam, PyTorch's update rule exactly (bias-corrected moments, optional AMSGrad).

    With learning rate η, betas (β₁, β₂), ε, weight decay λ and gradient g_t at step t::

        θ_{t-1} ← (1 − η·λ)·θ_{t-1},  d_t = g_t      (AdamW: decoupled decay)
        d_t = g_t + λ·θ_{t-1}                        (Adam: L2 decay; −g_t when maximize)
        m_t = m_{t-1} + (1 − β₁)·(d_t − m_{t-1})     (lerp, m_0 = 0)
        v_t = β₂·v_{t-1} + (1 − β₂)·d_t·d_t           (v_0 = 0)
        v̂_t = max(v̂_{t-1}, v_t) with AMSGrad, else v_t
        θ_t = θ_{t-1} − (η / (1 − β₁ᵗ))·m_t / (√v̂_t / √(1 − β₂ᵗ) + ε)

    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v) and,
    with AMSGrad, ``max_exp_avg_sq`` (v̂). Every product is evaluated in PyTorch's
    order, so float32 results agree with it to the last bit or so.
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate_options(self, options: dict[str, Any]) -> None:
        name = type(self).__name__
        check_finite(name, "learning rate", options["lr"], minimum=0)
        check_finite(name, "eps", options["eps"], minimum=0)
        betas = options["betas"]
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for position, beta in enumerate(betas):
            check_finite(name, f"beta{position + 1}", beta)
            if not 0 <= beta < 1:
                raise ValueError(f"invalid beta{position + 1} {beta}: must be in [0, 1)")
        check_finite(name, "weight_decay", options["weight_decay"], minimum=0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter whose ``grad`` is not None."""
        loss = closure() if closure is not None else None
        self._gradients_to_follow()
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(beta) for beta in group["betas"])
            eps = float(group["eps"])
            weight_decay = float(group["weight_decay"])
            amsgrad = bool(group["amsgrad"])
            maximize = bool(group["maximize"])
            for p in group["params"]:
                grad = gradient_array(p)
                if grad is None:
                    continue
                param = p.data
                xp = array_module(param)
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = _fresh_state(param, amsgrad)
                state["step"] += 1
                scratch, spare = self._workspace.arrays(param)
                if self.decoupled_weight_decay:
                    if weight_decay != 0:
                        xp.multiply(param, 1.0 - lr * weight_decay, out=param)
                    direction = effective_gradient(param, grad, 0.0, maximize, out=scratch)
                else:
                    direction = effective_gradient(param, grad, weight_decay, maximize, out=scratch)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                update_moments(exp_avg, exp_avg_sq, direction, beta1, beta2, spare)

                step = state["step"]
                step_size = lr / (1 - beta1**step)
                bias_correction2_sqrt = (1 - beta2**step) ** 0.5
                if amsgrad:
                    second_moment = state["max_exp_avg_sq"]
                    xp.maximum(second_moment, exp_avg_sq, out=second_moment)
                else:
                    second_moment = exp_avg_sq
                # `direction` (possibly in scratch) is spent: both scratch arrays are free.
                denom = xp.sqrt(second_moment, out=spare)
                xp.divide(denom, bias_correction2_sqrt, out=denom)
                xp.add(denom, eps, out=denom)
                ratio = xp.multiply(exp_avg, step_size, out=scratch)
                xp.divide(ratio, denom, out=ratio)
                xp.subtract(param, ratio, out=param)
        return loss


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter): θ ← (1 − η·λ)·θ before
    the Adam step, instead of adding λ·θ to the gradient. See :class:`Adam` for the rule.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


def decayed_direction(group: dict, param, grad, scratch):
    """The gradient a NAdam or RAdam step follows: with ``decoupled_weight_decay`` θ is first shrunk
    by (1 − η·λ) in place (AdamW's way), otherwise λ·θ is added to the gradient; −g when maximizing."""
    lr, weight_decay = float(group["lr"]), float(group["weight_decay"])
    if group["decoupled_weight_decay"]:
        array_module(param).multiply(param, 1.0 - lr * weight_decay, out=param)
        weight_decay = 0.0
    return effective_gradient(param, grad, weight_decay, bool(group["maximize"]), out=scratch)


def update_moments(exp_avg, exp_avg_sq, direction, beta1: float, beta2: float, spare) -> None:
    """Adam's moments in place, in PyTorch's order: m ← m + (1 − β₁)·(d − m) (its lerp), and
    v ← β₂·v + (1 − β₂)·d·d; ``spare`` is scratch of their shape (Adam, NAdam and RAdam share this)."""
    xp = array_module(exp_avg)
    _lerp_(exp_avg, direction, 1.0 - beta1, out_scratch=spare)
    squared = xp.multiply(direction, 1.0 - beta2, out=spare)
    xp.multiply(squared, direction, out=squared)
    xp.multiply(exp_avg_sq, beta2, out=exp_avg_sq)
    xp.add(exp_avg_sq, squared, out=exp_avg_sq)


def _fresh_state(param, amsgrad: bool) -> dict[str, Any]:
    xp = array_module(param)
    state = {"step": 0, "exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}
    if amsgrad:
        state["max_exp_avg_sq"] = xp.zeros_like(param)
    return state


def _lerp_(start, end, weight: float, out_scratch) -> None:
    """``start ← start + w·(end − start)`` in place, in PyTorch's two forms.

    PyTorch uses ``end − (end − start)·(1 − w)`` when |w| ≥ ½ so that w = 1 gives
    ``end`` exactly; the weight and ``1 − w`` are taken in the array's precision.
    """
    xp = array_module(start)
    gap = xp.subtract(end, start, out=out_scratch)
    weight_in_dtype = start.dtype.type(weight)
    if abs(weight_in_dtype) < 0.5:
        xp.multiply(gap, weight_in_dtype, out=gap)
        xp.add(start, gap, out=start)
    else:
        xp.multiply(gap, start.dtype.type(1) - weight_in_dtype, out=gap)
        xp.subtract(end, gap, out=start)
