"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import backend, kernels
from ..tensor import Tensor
from .gradient import effective_gradient
from .optimizer import Optimizer, ParamsT, check_finite


class SGD(Optimizer):
    r"""Stochastic gradient descent, PyTorch's update rule exactly.

    With learning rate η, momentum μ, dampening τ, weight decay λ and gradient g_t::

        d_t = g_t + λ·θ_{t-1}                   (−g_t + λ·θ_{t-1} when maximize)
        b_1 = d_1                               (first step: the buffer is a copy of d)
        b_t = μ·b_{t-1} + (1 − τ)·d_t           (t > 1)
        u_t = d_t + μ·b_t   if nesterov,   b_t if μ ≠ 0,   d_t if μ = 0
        θ_t = θ_{t-1} − η·u_t

    State per parameter: ``momentum_buffer`` (b, when μ ≠ 0).

    ``fused`` picks how the rule runs. The compiled kernel (``_kernels.c``) makes
    one pass over memory per parameter; the NumPy path makes four in the common case
    (b ← μ·b, b ← b + g, s ← η·b, θ ← θ − s, with ``s`` a shared scratch array). Both
    round identically, so they give the same bits. None (default): the kernel where it
    applies (C-contiguous float32/float64 NumPy arrays; CuPy arrays, gpu_kernels.sgd), else
    the array-module path; True: the same, and an error if chainrule was installed without
    its kernels; False: the array-module path always.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        fused: bool | None = None,
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        if fused and not kernels.AVAILABLE:
            raise RuntimeError(
                "SGD(fused=True): chainrule was installed without its compiled kernels "
                "(no C compiler at install time); reinstall with one, or pass fused=None"
            )
        self.fused = kernels.AVAILABLE if fused is None else bool(fused)
        self._try_kernels = fused is not False  # CuPy parameters have their kernel without the C extension
        super().__init__(params, defaults)

    def _validate_options(self, options: dict[str, Any]) -> None:
        check_finite("SGD", "learning rate", options["lr"], minimum=0)
        check_finite("SGD", "momentum", options["momentum"], minimum=0)
        check_finite("SGD", "dampening", options["dampening"])
        check_finite("SGD", "weight_decay", options["weight_decay"], minimum=0)
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter whose ``grad`` is not None."""
        loss = closure() if closure is not None else None
        self._gradients_to_follow()
        for group in self.param_groups:
            # Python floats, so that a NumPy float64 option cannot upcast a float32 update.
            lr = float(group["lr"])
            momentum = float(group["momentum"])
            dampening = float(group["dampening"])
            weight_decay = float(group["weight_decay"])
            nesterov = bool(group["nesterov"])
            maximize = bool(group["maximize"])
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if grad.__class__ is Tensor:  # after backward(create_graph=True); inline: SGD's loop is the hot one
                    grad = grad.data
                param = p.data
                state = self.state.setdefault(p, {}) if momentum != 0 else None
                buf = state.get("momentum_buffer") if state is not None else None
                if self._try_kernels:
                    first = state is not None and buf is None
                    kernel_buf = backend.array_module(param).empty_like(param) if first else buf
                    if kernels.sgd(param, grad, kernel_buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
                        if first:
                            state["momentum_buffer"] = kernel_buf
                        continue
                xp = backend.array_module(param)
                scratch, spare = self._workspace.arrays(param)
                direction = effective_gradient(param, grad, weight_decay, maximize, out=scratch)
                if state is not None:
                    if buf is None:
                        buf = state["momentum_buffer"] = direction.copy()
                    else:
                        xp.multiply(buf, momentum, out=buf)
                        if dampening != 0:
                            direction_damped = xp.multiply(direction, 1.0 - dampening, out=spare)
                            xp.add(buf, direction_damped, out=buf)
                        else:
                            xp.add(buf, direction, out=buf)
                    if nesterov:
                        update = xp.multiply(buf, momentum, out=spare)
                        xp.add(update, direction, out=update)
                    else:
                        update = buf
                else:
                    update = direction
                xp.multiply(update, lr, out=spare)
                xp.subtract(param, spare, out=param)
        return loss
