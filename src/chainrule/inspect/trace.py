"""Record every op of a forward and backward pass: what ran, where, on which shapes,
what it kept for backward, and how long each direction took.

    with cr.trace() as t:
        loss = loss_fn(model(x), y)
        loss.backward()
    print(t)            # one row per op, then the totals
    t.to_json()         # the same, for tools

Bytes saved for backward follow the definition in ``saved.py``; the peak is the most
bytes that nodes waiting for their backward held at once, each buffer counted once.
"""
from __future__ import annotations

import contextlib
import json
import weakref
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from ..tensor import observe
from .held import HeldBuffers
from .saved import SavedMemory, measure_saved
from .source import SourceLine, caller_outside_chainrule
from .text import format_bytes, format_seconds, format_shape, render_table


@dataclass
class OpRecord:
    """One op call seen by a trace.

    index: 1-based call order. recorded: whether the call was put on the graph (an op
    under ``no_grad`` or on inputs that need no gradient has no backward and saves
    nothing). backward_order: 1 for the first node whose backward ran, and so on.
    """

    index: int
    op: str
    source: SourceLine | None
    input_shapes: list[tuple]
    output_shape: tuple
    dtype: str
    recorded: bool
    saved_bytes: int
    saved_names: list[str]
    saved_shared_with_inputs: int
    saved_shared_with_output: int
    forward_seconds: float
    backward_seconds: float | None = None
    backward_order: int | None = None
    grad_shapes: list = field(default_factory=list)


class Trace:
    """The observer behind :func:`trace`; after the block it holds the records and totals.

    ``ops`` lists an :class:`OpRecord` per op call, in call order. ``forward_seconds`` and
    ``backward_seconds`` sum the time spent inside ops' ``forward`` and ``backward``.
    ``peak_bytes`` is the most bytes held for backward at once; ``peak_leaf_bytes`` the
    part of that peak that belongs to leaf tensors (parameters, data), which exist anyway.
    """

    def __init__(self):
        self.ops: list[OpRecord] = []
        self._nodes: dict[int, tuple] = {}     # id(fn) → (weakref to fn, record, SavedMemory)
        self._awaiting_release: list[int] = []
        self._held = HeldBuffers()
        self._backward_count = 0

    # -- the observer interface of chainrule.tensor.observe ---------------------
    def on_forward(self, fn, inputs, output, seconds: float) -> None:
        self._check_released()
        recorded = getattr(fn, "_released", None) is False
        memory = measure_saved(fn, inputs, output) if recorded else SavedMemory()
        record = OpRecord(
            index=len(self.ops) + 1, op=fn.name, source=caller_outside_chainrule(),
            input_shapes=[tuple(t.shape) for t in inputs], output_shape=tuple(output.shape),
            dtype=str(output.dtype), recorded=recorded, saved_bytes=memory.nbytes,
            saved_names=memory.names, saved_shared_with_inputs=memory.shared_with_inputs,
            saved_shared_with_output=memory.shared_with_output, forward_seconds=seconds,
        )
        self.ops.append(record)
        if recorded:
            key = id(fn)
            # A node dropped without a backward (a forward never differentiated) frees its arrays.
            ref = weakref.ref(fn, lambda _, key=key: self._forget(key))
            self._nodes[key] = (ref, record, memory)
            self._held.add(memory)

    def on_backward(self, fn, grad_output, grads, seconds: float) -> None:
        self._check_released()
        entry = self._nodes.get(id(fn))
        if entry is None:
            return  # a node made before the trace began
        record = entry[1]
        self._backward_count += 1
        record.backward_order = self._backward_count
        record.backward_seconds = (record.backward_seconds or 0.0) + seconds
        record.grad_shapes = [None if g is None else tuple(g.shape) for g in grads]
        self._awaiting_release.append(id(fn))

    # -- bookkeeping ------------------------------------------------------------
    def _check_released(self) -> None:
        """Drop the nodes whose backward ran and whose arrays the engine has since released
        (it releases right after notifying us, so this is seen at the next event)."""
        still_waiting = []
        for key in self._awaiting_release:
            entry = self._nodes.get(key)
            if entry is None:
                continue
            fn = entry[0]()
            if fn is None or fn._released:
                self._forget(key)
            else:
                still_waiting.append(key)  # backward(retain_graph=True) keeps the arrays
        self._awaiting_release = still_waiting

    def _forget(self, key: int) -> None:
        entry = self._nodes.pop(key, None)
        if entry is not None:
            self._held.drop(entry[2])

    def finish(self) -> None:
        """Settle the accounting at the end of the traced block and stop following nodes."""
        self._check_released()
        self._nodes.clear()
        self._awaiting_release.clear()

    # -- results ----------------------------------------------------------------
    @property
    def peak_bytes(self) -> int:
        return self._held.peak

    @property
    def peak_leaf_bytes(self) -> int:
        return self._held.peak_leaf

    @property
    def forward_seconds(self) -> float:
        return sum(r.forward_seconds for r in self.ops)

    @property
    def backward_seconds(self) -> float:
        return sum(r.backward_seconds or 0.0 for r in self.ops)

    def totals(self) -> dict:
        """The summary under the table, as numbers."""
        return {
            "ops": len(self.ops),
            "recorded_ops": sum(r.recorded for r in self.ops),
            "backward_ops": sum(r.backward_order is not None for r in self.ops),
            "saved_bytes": sum(r.saved_bytes for r in self.ops),
            "peak_bytes": self.peak_bytes,
            "peak_leaf_bytes": self.peak_leaf_bytes,
            "forward_seconds": self.forward_seconds,
            "backward_seconds": self.backward_seconds,
        }

    def to_dict(self) -> dict:
        """The records (sources as dicts) and totals, as plain Python values."""
        return {"ops": [asdict(record) for record in self.ops], "totals": self.totals()}

    def to_json(self, indent: int | None = None) -> str:
        """The records and totals as JSON (shapes as lists, times in seconds, sizes in bytes)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self) -> Iterator[OpRecord]:
        return iter(self.ops)

    def __str__(self) -> str:
        header = ["#", "op", "source", "inputs", "output", "dtype", "saved", "kept", "forward", "backward"]
        rows = []
        for r in self.ops:
            rows.append([str(r.index), r.op, str(r.source or "?"),
                         " ".join(format_shape(s) for s in r.input_shapes), format_shape(r.output_shape),
                         r.dtype, format_bytes(r.saved_bytes) if r.recorded else "—", _shortened(", ".join(r.saved_names)),
                         format_seconds(r.forward_seconds), format_seconds(r.backward_seconds)])
        table = render_table(header, rows, right_aligned={0, 6, 8, 9})
        t = self.totals()
        summary = (
            f"{t['ops']} ops ({t['recorded_ops']} on the graph, {t['backward_ops']} backpropagated) · "
            f"forward {format_seconds(t['forward_seconds'])} · backward {format_seconds(t['backward_seconds'])}\n"
            f"saved for backward: {format_bytes(t['saved_bytes'])} over all ops; peak held at once: "
            f"{format_bytes(t['peak_bytes'])} (of which parameters and inputs: {format_bytes(t['peak_leaf_bytes'])})"
        )
        return f"{table}\n{summary}"

    def __repr__(self) -> str:
        return f"<Trace of {len(self.ops)} ops>"


def _shortened(text: str, width: int = 32) -> str:
    """``text`` cut to ``width`` characters, with "…" when cut (the JSON has it whole)."""
    return text if len(text) <= width else text[:width - 1] + "…"


@contextlib.contextmanager
def trace() -> Iterator[Trace]:
    """Record every op called inside the block, and the backward of each (when run inside
    it). ``print`` the result for a table; ``.to_json()`` for tools."""
    recorder = Trace()
    try:
        with observe(recorder):
            yield recorder
    finally:
        recorder.finish()


def trace_one_step(model, loss_fn, x, y) -> Trace:
    """Trace one training step's forward and backward: ``loss_fn(model(x), y).backward()``.

    It is a real step's computation, so its side effects are a step's: the gradients
    accumulate into the parameters' ``.grad`` (an optimizer step may follow) and layers
    in training mode update their statistics (BatchNorm) or draw random masks (Dropout).
    """
    with trace() as recorded:
        loss = loss_fn(model(x), y)
        loss.backward()
    return recorded
