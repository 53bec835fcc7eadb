"""``detect_anomaly()``: stop at the first op whose output or gradient is NaN or ±inf.

A NaN loss says only that something, somewhere, went wrong. Inside
``with cr.detect_anomaly():`` every op's forward output, and every gradient each
node's backward returns, is checked as soon as it exists; the first non-finite one
raises :class:`~chainrule.errors.AnomalyError` naming the op, the shapes and dtypes
of its inputs, whether those inputs were already non-finite, and the line of *your*
code that called the op (``inspect.source.caller_outside_chainrule``: the layer's
line when chainrule itself drives, as in ``chainrule train``). For a gradient, that
is the line that ran the op's forward pass, remembered when it ran.

It is built on :func:`chainrule.tensor.observe` and costs nothing outside the block;
inside, every op pays for a finiteness check (and, for ops on the graph, for
remembering where it was called), so use it to hunt a bug, not to train.
"""
from __future__ import annotations

import contextlib
import weakref
from typing import Iterator

from . import backend
from .errors import AnomalyError
from .inspect.source import SourceLine, caller_outside_chainrule
from .tensor import Function, Tensor, observe


def _is_finite(array) -> bool:
    return array.dtype.kind not in "fc" or bool(backend.array_module(array).isfinite(array).all())


def _census(array) -> str:
    """How many NaN, +inf and -inf values an array holds, e.g. "2 NaN, 1 -inf of 6 values"."""
    xp = backend.array_module(array)
    counts = [
        (int(xp.isnan(array).sum()), "NaN"),
        (int(xp.isposinf(array).sum()), "+inf"),
        (int(xp.isneginf(array).sum()), "-inf"),
    ]
    found = ", ".join(f"{count} {kind}" for count, kind in counts if count)
    return f"{found} of {array.size} values"


def _describe(array) -> str:
    state = "finite" if _is_finite(array) else f"NOT finite: {_census(array)}"
    return f"{tuple(array.shape)} {array.dtype}, {state}"


def _describe_inputs(inputs) -> list[str]:
    return [f"    input {i}: {_describe(t.data)}" for i, t in enumerate(inputs)]


class AnomalyDetector:
    """The observer behind :func:`detect_anomaly` (see ``chainrule.tensor.observe``)."""

    def __init__(self, check_forward: bool = True):
        self.check_forward = check_forward
        # Where each op on the graph was called, for reports from its backward;
        # weak keys, so a graph that is dropped takes its entries with it.
        self.call_sites: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def on_forward(self, fn: Function, inputs: tuple, output: Tensor, seconds: float) -> None:
        if self.check_forward and not _is_finite(output.data):
            raise self._forward_error(fn, inputs, output, caller_outside_chainrule())
        if output.creator is fn:
            self.call_sites[fn] = caller_outside_chainrule()

    def on_backward(self, fn: Function, grad_output, grads: tuple, seconds: float) -> None:
        for index, grad in enumerate(grads):
            if grad is not None and not _is_finite(grad):
                raise self._backward_error(fn, index, grad, grad_output)

    @staticmethod
    def _forward_error(fn: Function, inputs: tuple, output: Tensor, site: SourceLine | None) -> AnomalyError:
        lines = [f"detect_anomaly: {fn.name} returned a non-finite output in the forward pass "
                 f"({_census(output.data)}; output {tuple(output.shape)} {output.dtype})",
                 _describe_site("called", site)]
        lines.append("  inputs:")
        lines += _describe_inputs(inputs)
        if all(_is_finite(t.data) for t in inputs):
            lines.append(f"  Its inputs are finite, so {fn.name} itself made the non-finite values: look for "
                         "overflow (exp of a large number, a learning rate that is too high), log or sqrt "
                         "of values ≤ 0, or a division by zero.")
        else:
            lines.append("  An input already held non-finite values when it reached this op, from outside the "
                         "checked code: the data, a parameter (diverged in an earlier step?), or an op run "
                         "before detect_anomaly() was entered.")
        return AnomalyError("\n".join(lines), fn.name, "forward", _source(site))

    def _backward_error(self, fn: Function, index: int, grad, grad_output) -> AnomalyError:
        recorded = fn in self.call_sites
        site = self.call_sites.get(fn)
        lines = [f"detect_anomaly: the gradient that {fn.name}.backward returned for input {index} is not "
                 f"finite ({_census(grad)}; gradient {tuple(grad.shape)} {grad.dtype})"]
        if recorded:
            lines.append(_describe_site(f"{fn.name} was called", site))
        else:
            lines.append(f"  {fn.name} ran its forward pass outside detect_anomaly(), so its call site is unknown")
        lines.append("  inputs of its forward pass:")
        lines += _describe_inputs(fn.inputs)
        lines.append(f"  upstream gradient: {_describe(grad_output)}")
        if _is_finite(grad_output):
            lines.append(f"  The upstream gradient is finite, so {fn.name}'s backward made the non-finite values "
                         "(e.g. the derivative of sqrt or log at 0, or an overflow).")
        else:
            lines.append("  The upstream gradient was already not finite: it is the gradient passed to "
                         "backward(), or came from an op whose backward ran outside detect_anomaly().")
        return AnomalyError("\n".join(lines), fn.name, "backward", _source(site))


def _describe_site(verb: str, site: SourceLine | None) -> str:
    if site is None:
        return f"  {verb} from inside chainrule (no caller outside it was found)"
    return f"  {verb} at {site.file}:{site.line}" + (f":  {site.text}" if site.text else "")


def _source(site: SourceLine | None) -> str | None:
    return None if site is None else f"{site.file}:{site.line}"


@contextlib.contextmanager
def detect_anomaly(check_forward: bool = True) -> Iterator[AnomalyDetector]:
    """Within the block (or the decorated function), raise ``AnomalyError`` at the first op
    whose forward output (unless ``check_forward=False``) or backward gradient is NaN or
    ±inf. Run both the forward pass and ``backward()`` inside it, so that a gradient
    can be traced back to the line that called its op.
    """
    with observe(AnomalyDetector(check_forward)) as detector:
        yield detector
