"""After backward: warn about parameters whose gradient is missing, all zero, or not finite.

Each is a sign of a bug rather than of bad luck: a parameter that gets no gradient is
not on the path to the loss (a layer built but never called, a tensor detached by
mistake); an all-zero gradient means nothing flows back (dead ReLUs, a mask, a missing
connection); NaN or ±inf ruins the next step.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

from .. import backend


class GradientWarning(UserWarning):
    """A parameter's gradient after backward is missing, all zero, or not finite."""


PROBLEMS = {
    "missing": "received no gradient: it is not on the path from the parameters to the loss "
               "(a layer never called, or a detached tensor)",
    "zero": "has a gradient that is all zero: nothing flows back to it (dead ReLUs, a mask, a cut connection)",
    "not_finite": "has a gradient with NaN or ±inf values",
}


@dataclass(frozen=True)
class GradientProblem:
    """``parameter`` (its dotted name) has problem ``kind``: one of :data:`PROBLEMS`."""

    parameter: str
    kind: str

    def __str__(self) -> str:
        return f"parameter {self.parameter!r} {PROBLEMS[self.kind]}"


def gradient_problems(model) -> list[GradientProblem]:
    """The problems of every parameter of ``model`` (anything with ``named_parameters()``)
    that requires a gradient, in parameter order."""
    problems = []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        grad = parameter.grad
        if grad is None:
            problems.append(GradientProblem(name, "missing"))
        elif not bool(backend.array_module(grad).isfinite(grad).all()):
            problems.append(GradientProblem(name, "not_finite"))
        elif not bool(grad.any()):
            problems.append(GradientProblem(name, "zero"))
    return problems


def check_gradients(model, warned: set | None = None) -> list[GradientProblem]:
    """Warn (``GradientWarning``) about each gradient problem of ``model``; return them all.

    warned: the problems already reported; those in it are not warned again, and the new
    ones are added, so that a training loop passing the same set warns once per
    parameter and kind of problem. Without it every problem found is warned.
    """
    problems = gradient_problems(model)
    for problem in problems:
        if warned is not None:
            if problem in warned:
                continue
            warned.add(problem)
        warnings.warn(str(problem), GradientWarning, stacklevel=2)
    return problems
