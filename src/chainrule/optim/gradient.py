"""The gradient an optimizer actually follows: sign for maximisation, plus L2 decay."""
from __future__ import annotations

from ..backend import array_module


def effective_gradient(param, grad, weight_decay: float, maximize: bool, out):
    """``d = ±g + λ·θ`` (``−g`` when maximising), without ever writing to ``grad``.

    Returns ``grad`` itself when there is nothing to add (no pass over memory),
    otherwise ``out`` holding ``d``. The form ``λ·θ − g`` equals PyTorch's
    ``(−g) + λ·θ`` bit for bit: negation is exact and addition commutes.
    """
    xp = array_module(param)
    if weight_decay != 0:
        xp.multiply(param, weight_decay, out=out)
        (xp.subtract if maximize else xp.add)(out, grad, out=out)
        return out
    if maximize:
        return xp.negative(grad, out=out)
    return grad
