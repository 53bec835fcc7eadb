"""What gradcheck runs, behind one interface, whatever it was given.

- A ``Function`` subclass or instance is called by hand — ``forward(*arrays)``, then
  ``backward(G)`` — on a fresh instance every time, so the raw ``backward`` output is
  checked before the graph engine could sum it over broadcast axes or reject it. An
  instance is copied (its ``__dict__``, i.e. its constructor arguments) when the
  check starts, and every call uses a copy; pass a Function that has not run yet.
- A plain function of Tensors, or an ``nn.Module`` (anything callable with
  ``parameters()`` and ``named_parameters()``), runs through the graph; the Module's
  parameters, or the ``params`` given, are checked as well as the inputs.

Every forward pass starts from the same re-seeded state of chainrule's and NumPy's
global generators, so that dropout-like randomness is identical in every
finite-difference evaluation; the caller's generator state is restored afterwards.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import backend
from .. import random as chainrule_random
from ..tensor import Function, Tensor, enable_grad, no_grad


@dataclasses.dataclass(frozen=True)
class Slot:
    """One gradient to check: ``name`` (``"input 0"``, ``"weight"``) at ``position`` in the array list."""

    name: str
    position: int


class Reseeder:
    """Sets chainrule's and NumPy's global generators to one seeded state on every call."""

    def __init__(self, seed: int):
        self._chainrule_state = np.random.default_rng(seed).bit_generator.state
        self._numpy_state = np.random.RandomState(seed).get_state()

    def __call__(self) -> None:
        chainrule_random.set_state(self._chainrule_state)
        np.random.set_state(self._numpy_state)

    @staticmethod
    @contextlib.contextmanager
    def preserving_caller_state() -> Iterator[None]:
        saved = chainrule_random.get_state(), np.random.get_state()
        try:
            yield
        finally:
            chainrule_random.set_state(saved[0])
            np.random.set_state(saved[1])


def as_array(value) -> np.ndarray:
    """A private NumPy copy of an input (array, Tensor, number or nested list)."""
    if isinstance(value, Tensor):
        value = backend.to_numpy(value.data)
    return np.array(value, copy=True)


def copies(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [a.copy() for a in arrays]


def is_function(obj) -> bool:
    return isinstance(obj, Function) or (isinstance(obj, type) and issubclass(obj, Function))


def is_module(obj) -> bool:
    """Duck typing, so that gradcheck needs no import of ``nn``."""
    return callable(obj) and callable(getattr(obj, "parameters", None)) and callable(getattr(obj, "named_parameters", None))


def _output_array(value) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.data
    return np.array(backend.to_numpy(np.asarray(value)), copy=True)


class FunctionTarget:
    """A Function, called by hand on arrays."""

    kind = "Function, called by hand"
    stale_message = (
        "backward after a second forward() on the same instance differs from a fresh instance's: "
        "something saved by the first forward is reused (a stale cache)"
    )

    def __init__(self, function, arrays: Sequence[np.ndarray], reseed: Reseeder):
        if isinstance(function, type):
            self._new: Callable[[], Function] = function
            self.description = function.__name__
        else:
            cls = type(function)
            state = copy.deepcopy({k: v for k, v in vars(function).items() if k != "needs_input_grad"})
            self._new = lambda: _revive(cls, state)
            self.description = _describe(cls, state)
        self._reseed = reseed
        self.n_inputs = len(arrays)
        self.names = [f"input {i}" for i in range(len(arrays))]
        self.slots = [Slot(self.names[i], i) for i, a in enumerate(arrays) if a.dtype.kind == "f"]

    def parameter_arrays(self) -> list[np.ndarray]:
        return []

    @contextlib.contextmanager
    def prepared(self) -> Iterator[None]:
        with self._reseed.preserving_caller_state():
            yield

    def evaluate(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        self._reseed()
        return _output_array(self._new().forward(*arrays))

    def open(self, arrays: Sequence[np.ndarray]) -> FunctionSession:
        return FunctionSession(self, self._new(), arrays)

    def stale_probe(self, arrays, other, upstream) -> tuple[list, list]:
        """Gradients at ``other`` from a fresh instance, and from one that ran at ``arrays`` first."""
        reused = FunctionSession(self, self._new(), copies(arrays))
        reused.backward(upstream.copy())
        reused.forward(copies(other))
        got = reused.backward(upstream.copy())
        clean = self.open(copies(other)).backward(upstream.copy())
        return clean, got


class FunctionSession:
    """One Function instance after forward: ``backward`` returns its raw gradients, one per slot."""

    def __init__(self, target: FunctionTarget, function: Function, arrays: Sequence[np.ndarray]):
        self._target = target
        self._function = function
        self.arity_error: str | None = None
        self.forward(arrays)

    def forward(self, arrays: Sequence[np.ndarray]) -> None:
        self._target._reseed()
        self.output = _output_array(self._function.forward(*arrays))

    def backward(self, upstream: np.ndarray) -> list:
        grads = self._function.backward(upstream)
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        n = self._target.n_inputs
        if len(grads) != n:
            self.arity_error = f"backward returned {len(grads)} gradients for {n} inputs"
            grads = (tuple(grads) + (None,) * n)[:n]
        return [None if grads[s.position] is None else np.array(grads[s.position], copy=True)
                for s in self._target.slots]


def _revive(cls: type, state: dict) -> Function:
    function = cls.__new__(cls)
    function.__dict__.update(copy.deepcopy(state))
    return function


def _describe(cls: type, state: dict) -> str:
    simple = (int, float, str, bool, type(None), tuple)
    arguments = ", ".join(f"{k}={v!r}" for k, v in state.items() if isinstance(v, simple))
    return f"{cls.__name__}({arguments})"


class GraphTarget:
    """A function of Tensors or a Module, run through the graph; parameters are slots too."""

    stale_message = (
        "a forward pass run after a graph was built changed what that graph's backward computes: "
        "state shared between calls (e.g. saved on the module) is overwritten by later calls"
    )

    def __init__(self, fn: Callable, arrays: Sequence[np.ndarray], parameters: list[tuple[str, Tensor]],
                 reseed: Reseeder):
        self.fn = fn
        self.kind = "Module, through the graph" if is_module(fn) else "function, through the graph"
        self.description = getattr(fn, "__qualname__", type(fn).__name__)
        self.parameters = parameters
        self._reseed = reseed
        self.n_inputs = len(arrays)
        self.names = [f"input {i}" for i in range(len(arrays))] + [name for name, _ in parameters]
        self.slots = [Slot(self.names[i], i) for i, a in enumerate(arrays) if a.dtype.kind == "f"]
        self.slots += [Slot(name, self.n_inputs + j) for j, (name, _) in enumerate(parameters)]

    def parameter_arrays(self) -> list[np.ndarray]:
        return [as_array(p) for _, p in self.parameters]

    @contextlib.contextmanager
    def prepared(self) -> Iterator[None]:
        """Parameters require grad during the check; their data, grad and flag are restored after."""
        saved = [(p.data, p.grad, p.requires_grad) for _, p in self.parameters]
        try:
            for _, p in self.parameters:
                p.requires_grad = True
            with self._reseed.preserving_caller_state():
                yield
        finally:
            for (_, p), (data, grad, requires_grad) in zip(self.parameters, saved):
                p.data, p.grad, p.requires_grad = data, grad, requires_grad

    @contextlib.contextmanager
    def _parameters_set_to(self, arrays: Sequence[np.ndarray]) -> Iterator[None]:
        originals = [p.data for _, p in self.parameters]
        for (_, p), array in zip(self.parameters, arrays[self.n_inputs:]):
            p.data = array
        try:
            yield
        finally:
            for (_, p), data in zip(self.parameters, originals):
                p.data = data

    def call(self, arrays: Sequence[np.ndarray], requires_grad: bool) -> tuple[list[Tensor], Tensor]:
        inputs = [Tensor(a, requires_grad=requires_grad and a.dtype.kind == "f") for a in arrays[:self.n_inputs]]
        with self._parameters_set_to(arrays):
            self._reseed()
            out = self.fn(*inputs)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: {self.description} must return a Tensor, got {type(out).__name__}")
        return inputs, out

    def evaluate(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        with no_grad():
            _, out = self.call(arrays, requires_grad=False)
        return _output_array(out)

    def open(self, arrays: Sequence[np.ndarray]) -> GraphSession:
        return GraphSession(self, arrays)

    def stale_probe(self, arrays, other, upstream) -> tuple[list, list]:
        """Gradients at ``arrays`` from a clean graph, and from one built before a forward at ``other``."""
        clean = self.open(copies(arrays)).backward(upstream)
        first = self.open(copies(arrays))
        self.open(copies(other))
        return clean, first.backward(upstream)


class GraphSession:
    """One recorded graph: ``backward`` returns the leaves' gradients, one per slot, and clears them."""

    arity_error = None

    def __init__(self, target: GraphTarget, arrays: Sequence[np.ndarray]):
        with enable_grad():
            inputs, self._out = target.call(arrays, requires_grad=True)
        self.output = _output_array(self._out)
        leaves: list[Any] = inputs + [p for _, p in target.parameters]
        self._leaves = [leaves[s.position] for s in target.slots]

    def backward(self, upstream: np.ndarray) -> list:
        for leaf in self._leaves:
            leaf.grad = None
        if self._out.requires_grad:
            self._out.backward(upstream, retain_graph=True)
        grads = [None if leaf.grad is None else np.array(backend.to_numpy(leaf.grad), copy=True)
                 for leaf in self._leaves]
        for leaf in self._leaves:
            leaf.grad = None
        return grads


def make_target(fn_or_module, arrays: Sequence[np.ndarray], params, reseed: Reseeder):
    """The target for what the user passed; ``params`` adds (or, for a Module, replaces) parameters."""
    if is_function(fn_or_module):
        if params:
            raise TypeError("gradcheck: params= is for functions and Modules; a Function's gradients are its inputs'")
        return FunctionTarget(fn_or_module, arrays, reseed)
    if not callable(fn_or_module):
        raise TypeError(f"gradcheck: expected a Function, a function of Tensors or a Module, "
                        f"got {type(fn_or_module).__name__}")
    if params is None and is_module(fn_or_module):
        params = list(fn_or_module.named_parameters())
    return GraphTarget(fn_or_module, arrays, _named(params), reseed)


def _named(params) -> list[tuple[str, Tensor]]:
    if not params:
        return []
    items = list(params.items()) if isinstance(params, dict) else [
        p if isinstance(p, tuple) else (f"param {i}", p) for i, p in enumerate(params)
    ]
    named, seen = [], set()
    for name, p in items:
        if not isinstance(p, Tensor):
            raise TypeError(f"gradcheck: parameter {name!r} is a {type(p).__name__}, not a Tensor")
        if p.dtype.kind != "f":
            raise TypeError(f"gradcheck: parameter {name!r} has dtype {p.dtype}; only floating ones have gradients")
        if id(p) not in seen:
            seen.add(id(p))
            named.append((name, p))
    return named
