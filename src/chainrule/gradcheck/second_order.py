"""``gradcheck(order=2)``: checking ``backward_graph``, the backward that second order runs.

Second order differentiates what each op's ``backward_graph`` records, so two things must
hold, and they are checked in this order:

1. **Its value is the gradient.** During one ``create_graph=True`` backward pass every
   node's ``backward_graph(dy)`` is compared with its ``backward(dy)`` (the first-order path,
   checked by the first-order gradcheck), and ``backward_graph(0)`` must be 0. A mismatch
   names the op and reads like a first-order diagnosis: sign flipped, scaled, transposed,
   ignores its upstream gradient, not propagated.
2. **Its derivative is the second derivative.** A first-order check of the derived function
   x ↦ g(x) = ∂s/∂x, s = ⟨G₁, y⟩ + ½⟨G₂, y∘y⟩ with y = f(x) (every floating input and
   parameter in x; g their gradients, flattened into one vector): finite differences of g
   on the fast path against the backward of the graph ``backward_graph`` built. The y∘y
   term makes the upstream gradient dy = G₁ + G₂∘y depend on x, so that a ``backward_graph``
   which treats dy as a constant fails too. When 1 passed and 2 fails, the value is right
   and its dependence on x is not: a term is missing (something that depends on the inputs
   enters as a constant), or, if the check passes with G₂ = 0, dy's own graph was dropped.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .. import backend
from ..broadcast import sum_to
from ..ops.shape import cat
from ..tensor import Function, Tensor, enable_grad, grad, is_grad_enabled, observe
from .compare import default_tolerance
from .report import Diagnosis, GradcheckReport
from .target import Reseeder, _named, as_array, is_function, is_module

VALUE_CODES = {"sign_flipped", "scaled", "transposed", "not_propagated", "unexplained", "wrong_layout"}


def as_function_of_tensors(fn_or_module):
    """A Function (class or instance, not yet run) as a function of Tensors through the graph,
    so that its ``backward_graph`` runs; anything else as it is."""
    if not is_function(fn_or_module):
        return fn_or_module
    cls = fn_or_module if isinstance(fn_or_module, type) else type(fn_or_module)
    state = {} if cls is fn_or_module else {k: v for k, v in vars(fn_or_module).items() if k != "needs_input_grad"}

    def call(*inputs):
        if cls is fn_or_module:
            return cls()(*inputs)
        function = cls.__new__(cls)
        function.__dict__.update(state)
        return function(*inputs)

    call.__qualname__ = cls.__name__
    return call


class FirstOrderGradient:
    """x ↦ ∂s/∂x for s = ⟨G₁, f(x)⟩ + ½⟨G₂, f(x)²⟩, as one flat vector over the floating inputs
    and ``params``: on the graph through ``backward_graph`` when grad mode is on (the analytical
    side of a check), on the fast path through ``backward`` when it is off (the numerical side)."""

    def __init__(self, fn, params: list[Tensor], seed: int, quadratic: bool = True):
        self.fn, self.params, self.seed, self.quadratic = fn, params, seed, quadratic
        self.__qualname__ = f"first-order gradient of {getattr(fn, '__qualname__', type(fn).__name__)}"

    def weights(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """(G₁, G₂) for an output like ``y``: seeded, so every call draws the same."""
        rng = np.random.default_rng([self.seed, 21])
        xp = backend.array_module(y.data)
        g1, g2 = (xp.asarray(rng.standard_normal(y.shape).astype(y.dtype)) for _ in range(2))
        return Tensor(g1), Tensor(g2 if self.quadratic else g2 * 0)

    def gradients(self, inputs, create_graph: bool) -> list:
        """∂s/∂(each floating input, then each parameter): Tensors, None where s does not depend on it."""
        with enable_grad():
            if not create_graph:
                inputs = [Tensor(t.data, requires_grad=t.dtype.kind == "f") for t in inputs]
            y = self.fn(*inputs)
            if not isinstance(y, Tensor) or y.dtype.kind != "f":
                raise TypeError(f"gradcheck(order=2): {self.__qualname__[22:]} must return a floating Tensor")
            g1, g2 = self.weights(y)
            s = (y * g1).sum() + (y * y * (g2 * 0.5)).sum()
            wrt = [t for t in inputs if t.dtype.kind == "f"] + self.params
            if not s.requires_grad:
                return [None] * len(wrt)
            return list(grad(s, wrt, create_graph=create_graph, allow_unused=True))

    def __call__(self, *inputs) -> Tensor:
        create_graph = is_grad_enabled()
        wrt = [t for t in inputs if t.dtype.kind == "f"] + self.params
        pieces = []
        for g, t in zip(self.gradients(inputs, create_graph), wrt):
            if g is None:
                g = Tensor(backend.array_module(t.data).zeros(t.shape, dtype=t.dtype))
            pieces.append(g.reshape(-1) if create_graph else g.data.reshape(-1))
        if create_graph:
            return cat(pieces)
        return Tensor(backend.array_module(pieces[0]).concatenate(pieces))


def second_order_gradcheck(check, fn_or_module, inputs, params, seed: int, **options) -> GradcheckReport:
    """gradcheck(order=2); ``check`` is the first-order gradcheck, run on the derived function."""
    fn = as_function_of_tensors(fn_or_module)
    if params is None and is_module(fn):
        params = list(fn.named_parameters())
    named = _named(params)
    arrays = [as_array(value) for value in (inputs if isinstance(inputs, (list, tuple)) else [inputs])]
    findings = _value_findings(fn, arrays, named, seed)
    derived = FirstOrderGradient(fn, [p for _, p in named], seed)
    report = check(derived, arrays, params=named or None, seed=seed, raise_on_fail=False, **options)
    report.target = f"second order of {getattr(fn, '__qualname__', type(fn).__name__)} (through backward_graph)"
    if findings:  # backward_graph's value is wrong: the derived function's two paths differ, which the
        # first-order check can only call nondeterminism; the findings say why
        report.general[:] = [d for d in report.general if d.code != "nondeterministic"] + findings
    if not findings and not report.passed:
        without_dy_graph = check(FirstOrderGradient(fn, [p for _, p in named], seed, quadratic=False), arrays,
                                 params=named or None, seed=seed, raise_on_fail=False, **options)
        diagnosis = _dy_graph_dropped if without_dy_graph.passed else _missing_term
        for gradient in report.gradients:
            if not gradient.passed:
                kept = [d for d in gradient.diagnoses if d.code not in VALUE_CODES]
                gradient.diagnoses[:] = kept + [diagnosis(gradient.name)]
    return report


def _dy_graph_dropped(name: str) -> Diagnosis:
    return Diagnosis("ignores_upstream", f"the second derivative for {name} is right only while the upstream gradient "
                     "dy is a constant: a backward_graph uses dy's values (dy.data, Tensor(dy.numpy())) instead of dy "
                     "itself, so its dependence on the inputs is lost", name)


def _missing_term(name: str) -> Diagnosis:
    return Diagnosis("missing_term", f"backward_graph gives the right gradient, but its derivative for {name} is "
                     "wrong: a term that depends on the inputs enters it as a constant (an array saved by forward "
                     "wrapped in Tensor(...), or .data/.detach() of an input): recompute it from self.inputs", name)


# -- 1: backward_graph's value against backward's, op by op ------------------------------------
@dataclasses.dataclass
class _NodeComparison:
    """An observer of one create_graph=True backward pass: each node's backward_graph(dy) against
    its backward(dy) and backward_graph(0) against 0."""

    findings: list

    def on_backward(self, node: Function, grad_out, grads, seconds: float) -> None:
        if not isinstance(grad_out, Tensor) or any(d.subject == _op(node) for d in self.findings):
            return
        reference = node.backward(grad_out.data.copy())
        reference = reference if isinstance(reference, tuple) else (reference,)
        zero = node.backward_graph(Tensor(grad_out.data * 0))
        zero = zero if isinstance(zero, tuple) else (zero,)
        for i, (tensor, ours, theirs, at_zero) in enumerate(zip(node.inputs, grads, reference, zero)):
            if not tensor.requires_grad or tensor.dtype.kind != "f":
                continue
            ours, theirs, at_zero = (_fitted(g, tensor.shape) for g in (ours, theirs, at_zero))
            if at_zero is not None and np.any(at_zero[np.isfinite(at_zero)] != 0):
                self.findings.append(Diagnosis(
                    "ignores_upstream", f"{_op(node)}.backward_graph(0) is not 0 for input {i}: part of the "
                    "gradient does not scale with the upstream gradient dy (is dy left out of a product?)", _op(node)))
                return
            message = _disagreement(ours, theirs, f"{_op(node)}.backward_graph", f"input {i}")
            if message is not None:
                self.findings.append(Diagnosis(message[0], message[1] + " (backward_graph must give the gradient "
                                               "backward gives, which order 1 checks)", _op(node)))
                return


def _op(node: Function) -> str:
    return getattr(node, "op_name", None) or node.name


def _fitted(g, shape: tuple):
    if g is None:
        return None
    array = backend.to_numpy(g.data if isinstance(g, Tensor) else g).astype(np.float64)
    return sum_to(array, shape) if array.shape != shape else array


def _disagreement(ours, theirs, who: str, what: str) -> tuple[str, str] | None:
    """(code, message) when ``ours`` (backward_graph's) is not ``theirs`` (backward's), else None."""
    if theirs is None:
        return None
    if ours is None or not np.any(ours):
        if np.any(theirs):
            returned = "None" if ours is None else "zeros"
            return "not_propagated", f"{who} returns {returned} for {what}, whose gradient is not zero"
        return None
    rtol, atol_scale = default_tolerance(np.float64)
    atol = atol_scale * max(1.0, float(np.abs(theirs).max(initial=0.0)))

    def close(a, b):
        return bool(np.all(np.abs(a - b) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))))

    if close(ours, theirs):
        return None
    norm = float(np.sum(theirs * theirs))
    if norm > 0:
        factor = float(np.sum(ours * theirs) / norm)
        if close(ours, factor * theirs):
            if abs(factor + 1) <= 1e-3:
                return "sign_flipped", f"{who} gives −1× the gradient of {what}: its sign is flipped"
            return "scaled", f"{who} gives {factor:.6g}× the gradient of {what}"
    if ours.ndim >= 2 and ours.shape[-1] == ours.shape[-2] > 1 and close(ours, np.swapaxes(theirs, -1, -2)):
        return "transposed", f"{who} gives the transpose of the gradient of {what}"
    worst = np.unravel_index(int(np.argmax(np.abs(ours - theirs))), ours.shape)
    return "unexplained", (f"{who} differs from backward for {what} (worst at {[int(i) for i in worst]}: "
                           f"{ours[worst]:.6g} against {theirs[worst]:.6g}); no sign, scale or transpose explains it")


def _value_findings(fn, arrays: list[np.ndarray], named: list[tuple[str, Tensor]], seed: int) -> list[Diagnosis]:
    observer = _NodeComparison([])
    reseed = Reseeder(seed)
    with reseed.preserving_caller_state():
        reseed()
        saved = [(p.requires_grad, p.grad) for _, p in named]
        try:
            for _, p in named:
                p.requires_grad = True
            inputs = [Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
            with observe(observer):
                FirstOrderGradient(fn, [p for _, p in named], seed).gradients(inputs, create_graph=True)
        finally:
            for (_, p), (requires_grad, g) in zip(named, saved):
                p.requires_grad, p.grad = requires_grad, g
    return observer.findings
