"""``detect_anomaly()``: stop at the first op whose output or gradient is NaN or ±inf.

A NaN loss says only that something, somewhere, went wrong. Inside
``with cr.detect_anomaly():`` every op's forward output, and every gradient each
node's backward returns, is checked as soon as it exists; the first non-finite one
raises :class:`~chainrule.errors.AnomalyError` naming the op, the shapes and dtypes
of its inputs, whether those inputs were already non-finite, and the line of *your*
code that called the op (with the chainrule calls in between). For a gradient, that
is the line that ran the op's forward pass, remembered when it ran.

It is built on :func:`chainrule.tensor.observe` and costs nothing outside the block;
inside, every op pays for a finiteness check (and, for ops on the graph, for
remembering where it was called), so use it to hunt a bug, not to train.
"""
from __future__ import annotations

import contextlib
import linecache
import os
import sys
import weakref
from typing import Iterator, NamedTuple

from . import backend
from .errors import AnomalyError
from .tensor import Function, Tensor, observe

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_PLUMBING = {os.path.join(_PACKAGE_DIR, name) for name in ("tensor.py", "anomaly.py")}
"""Files whose frames are the machinery of calling and observing an op, never worth showing."""

_SHOWN_INTERNAL_FRAMES = 6


class Frame(NamedTuple):
    filename: str
    lineno: int
    function: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno} in {self.function}"


class CallSite(NamedTuple):
    """Where an op was called: the innermost frame outside chainrule, and the chainrule
    frames between it and the op (outermost first)."""

    user: Frame | None
    internal: tuple[Frame, ...]

    def describe(self, verb: str) -> list[str]:
        lines = []
        if self.user is None:
            lines.append(f"  {verb} from inside chainrule (no caller outside it was found)")
        else:
            source = linecache.getline(self.user.filename, self.user.lineno).strip()
            lines.append(f"  {verb} at {self.user}" + (f":  {source}" if source else ""))
        if self.internal:
            shown = self.internal[-_SHOWN_INTERNAL_FRAMES:]
            chain = " → ".join(f"{os.path.relpath(f.filename, _PACKAGE_DIR)}:{f.lineno} {f.function}" for f in shown)
            lines.append(f"  through chainrule: {chain}")
        return lines


def _call_site() -> CallSite:
    internal = []
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        filename = os.path.abspath(code.co_filename)
        if not filename.startswith(_PACKAGE_DIR):
            return CallSite(Frame(code.co_filename, frame.f_lineno, code.co_name), tuple(reversed(internal)))
        if filename not in _PLUMBING:
            internal.append(Frame(filename, frame.f_lineno, getattr(code, "co_qualname", code.co_name)))
        frame = frame.f_back
    return CallSite(None, tuple(reversed(internal)))


def _is_finite(array) -> bool:
    return array.dtype.kind not in "fc" or bool(backend.xp.isfinite(array).all())


def _census(array) -> str:
    """How many NaN, +inf and -inf values an array holds, e.g. "2 NaN, 1 -inf of 6 values"."""
    xp = backend.xp
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
            raise self._forward_error(fn, inputs, output, _call_site())
        if output.creator is fn:
            self.call_sites[fn] = _call_site()

    def on_backward(self, fn: Function, grad_output, grads: tuple, seconds: float) -> None:
        for index, grad in enumerate(grads):
            if grad is not None and not _is_finite(grad):
                raise self._backward_error(fn, index, grad, grad_output)

    @staticmethod
    def _forward_error(fn: Function, inputs: tuple, output: Tensor, site: CallSite) -> AnomalyError:
        lines = [f"detect_anomaly: {fn.name} returned a non-finite output in the forward pass "
                 f"({_census(output.data)}; output {tuple(output.shape)} {output.dtype})"]
        lines += site.describe("called")
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
        site = self.call_sites.get(fn)
        lines = [f"detect_anomaly: the gradient that {fn.name}.backward returned for input {index} is not "
                 f"finite ({_census(grad)}; gradient {tuple(grad.shape)} {grad.dtype})"]
        if site is None:
            lines.append(f"  {fn.name} ran its forward pass outside detect_anomaly(), so its call site is unknown")
        else:
            lines += site.describe(f"{fn.name} was called")
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


def _source(site: CallSite | None) -> str | None:
    if site is None or site.user is None:
        return None
    return f"{site.user.filename}:{site.user.lineno}"


@contextlib.contextmanager
def detect_anomaly(check_forward: bool = True) -> Iterator[AnomalyDetector]:
    """Within the block (or the decorated function), raise ``AnomalyError`` at the first op
    whose forward output (unless ``check_forward=False``) or backward gradient is NaN or
    ±inf. Run both the forward pass and ``backward()`` inside it, so that a gradient
    can be traced back to the line that called its op.
    """
    with observe(AnomalyDetector(check_forward)) as detector:
        yield detector
