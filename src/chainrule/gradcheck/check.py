"""``gradcheck``: pre-flight checks, then the numerical comparison, then the diagnosis."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .compare import Comparer, default_tolerance
from .diagnose import Context, Evidence, diagnose, fit_to_input
from .kinks import Kink
from .numerical import Objective, coordinate_steps, numerical_jacobian
from .preflight import Preflight, run_preflight
from .report import (
    KINK,
    Diagnosis,
    GradcheckError,
    GradcheckReport,
    GradientResult,
    Jacobians,
)
from .second_order import second_order_gradcheck
from .target import Reseeder, as_array, copies, make_target

MODES = ("auto", "full", "fast")
MAX_KINK_ROUNDS = 3


def gradcheck(fn_or_module, inputs, *, params=None, seed: int = 0, mode: str = "auto",
              rtol: float | None = None, atol: float | None = None, raise_on_fail: bool = True,
              move_kinks: bool = True, order: int = 1) -> GradcheckReport:
    """Check every gradient of ``fn_or_module`` at ``inputs``; say what is wrong, if anything.

    fn_or_module: a ``Function`` subclass or instance (called by hand: ``forward`` on
        arrays, then ``backward``, on a fresh instance per call), a function of Tensors
        returning a Tensor, or an ``nn.Module`` (its parameters are checked too).
    inputs: a list or tuple of arrays, Tensors or numbers, or a single one of them.
        Every floating input is checked, in its own dtype; integer and bool inputs
        (labels, masks) are passed through as constants. Inputs are copied, never
        written to.
    params: Tensors whose gradients are checked as well: a list, a dict name → Tensor,
        or (name, Tensor) pairs. A Module's ``named_parameters()`` by default.
    seed: seeds the upstream gradient G, the random directions and elements of the fast
        check, and the re-seeding of chainrule's and NumPy's global generators before
        every forward pass. The same seed and inputs reproduce the same report.
    mode: "full" estimates every element (four forward passes each); "fast" a few
        random directional derivatives and a few dozen elements, escalating to "full"
        for a gradient that fails; "auto" is "full" for inputs of up to 2,000 elements
        and "fast" above. Keep inputs small: a failing large input costs a full check.
    rtol, atol: the per-element tolerance |a − n| ≤ atol + rtol·max(|a|, |n|). By
        default rtol is 1e-6 for float64 gradients and 1e-2 for float32, and atol is
        1e-8 (float64) or 1e-4 (float32) times max(1, largest |numerical| element).
    raise_on_fail: raise :class:`GradcheckError` (carrying the report) on failure.
    move_kinks: move an input that sits within a few steps of a kink (relu at 0, a tie
        in a max) clear of it and check again (up to three rounds); with False, a value
        between the one-sided slopes there is accepted as a subgradient.
    order: 2 checks the second order instead, i.e. every ``backward_graph`` that
        ``create_graph=True`` runs: its value against ``backward``'s, op by op, then its
        derivative against finite differences of the first-order gradient (see
        ``gradcheck/second_order.py``). Check order 1 first: order 2 trusts ``backward``.

    Cheap pre-flight checks run first (determinism, in-place writes, repeated and
    zero and doubled backward calls, stale state, dtypes), then the comparison with
    float64 finite differences, then the diagnosis of each failure. Returns a
    :class:`GradcheckReport`; ``print`` it for a short table.
    """
    if mode not in MODES:
        raise ValueError(f"gradcheck: mode must be one of {MODES}, got {mode!r}")
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {order!r}")
    if order == 2:
        report = second_order_gradcheck(gradcheck, fn_or_module, inputs, params, seed, mode=mode, rtol=rtol,
                                        atol=atol, move_kinks=move_kinks)
        if raise_on_fail and not report.passed:
            raise GradcheckError(report)
        return report
    if not isinstance(inputs, (list, tuple)):
        inputs = [inputs]
    arrays = [as_array(value) for value in inputs]
    target = make_target(fn_or_module, arrays, params, Reseeder(seed))
    arrays += target.parameter_arrays()
    settings = _Settings(seed, mode, rtol, atol)
    moved: dict[int, list[tuple]] = {}
    with target.prepared():
        for round_ in range(MAX_KINK_ROUNDS + 1):
            point = _check_point(target, arrays, settings, settle_kinks=not move_kinks or round_ == MAX_KINK_ROUNDS)
            if not point.kinks:
                break
            arrays = _moved_clear_of_kinks(arrays, point.kinks, moved)
    report = _report(target, arrays, point, moved, settings)
    if raise_on_fail and not report.passed:
        raise GradcheckError(report)
    return report


@dataclasses.dataclass(frozen=True)
class _Settings:
    seed: int
    mode: str
    rtol: float | None
    atol: float | None


@dataclasses.dataclass
class _Point:
    """The check at one point: pre-flight findings, comparisons, diagnoses, kinks to move."""

    preflight: Preflight
    evidence: list[Evidence]
    diagnoses: dict[str, list[Diagnosis]]
    kinks: list[tuple[int, int, Kink]]  # (position, flat index, kink)


def _check_point(target, arrays: list[np.ndarray], settings: _Settings, settle_kinks: bool) -> _Point:
    preflight = run_preflight(target, arrays, settings.seed)
    if preflight.halted:
        return _Point(preflight, [], {}, [])
    arrays64 = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
    objective = Objective(target, arrays64, preflight.upstream.astype(np.float64), preflight.mutates_inputs)
    comparer = Comparer(objective, mode=settings.mode, rtol=settings.rtol, atol=settings.atol,
                        settle_kinks=settle_kinks, seed=settings.seed)
    evidence = []
    for slot, raw in zip(target.slots, preflight.gradients):
        x = arrays[slot.position]
        analytical, shape_diagnoses = fit_to_input(slot.name, raw, x.shape)
        comparison = comparer.compare(slot.position, analytical, x.dtype, force_full=bool(shape_diagnoses))
        evidence.append(Evidence(slot.name, x, raw, analytical, comparison, shape_diagnoses))
    kinks = [(slot.position, flat, kink) for slot, e in zip(target.slots, evidence)
             for flat, kink in e.comparison.kinks.items() if e.comparison.verdicts.get(flat) == KINK]
    if kinks:
        return _Point(preflight, evidence, {}, kinks)
    context = Context(target.names, [a.shape for a in arrays], preflight.output)
    explained = {d.subject for d in preflight.diagnoses if d.fatal and d.subject}
    return _Point(preflight, evidence, diagnose(evidence, context, explained, preflight.sums_upstream), [])


def _moved_clear_of_kinks(arrays: list[np.ndarray], kinks, moved: dict[int, list[tuple]]) -> list[np.ndarray]:
    arrays = copies(arrays)
    for position, flat, kink in kinks:
        x = arrays[position]
        before = float(x.flat[flat])
        x.flat[flat] = kink.moved(before, float(coordinate_steps(np.asarray(before))))
        moved.setdefault(position, []).append((flat, before, float(x.flat[flat]), kink))
    return arrays


def _move_note(name: str, shape: tuple, moves: list[tuple]) -> Diagnosis:
    flat, before, after, kink = moves[0]
    index = [int(i) for i in np.unravel_index(flat, shape)]
    return Diagnosis("kink", f"moved {len(moves)} element(s) of {name} clear of a kink and checked again, e.g. "
                     f"{index}: {before:.6g} → {after:.6g} ({kink.describe()})", name, fatal=False)


def _report(target, arrays: list[np.ndarray], point: _Point, moved: dict, settings: _Settings) -> GradcheckReport:
    names = {slot.name for slot in target.slots}
    general = [d for d in point.preflight.diagnoses if d.subject not in names]
    gradients = []
    for k, slot in enumerate(target.slots):
        x = arrays[slot.position]
        diagnoses = [d for d in point.preflight.diagnoses if d.subject == slot.name]
        diagnoses += point.diagnoses.get(slot.name, [])
        if slot.position in moved:
            diagnoses.append(_move_note(slot.name, x.shape, moved[slot.position]))
        if point.evidence:
            e = point.evidence[k]
            c = e.comparison
            gradients.append(GradientResult(slot.name, x.shape, x.dtype, c.method, e.analytical, c.numerical,
                                            c.tolerance, c.rtol, c.atol, c.verdicts, diagnoses))
        else:
            rtol, atol = default_tolerance(x.dtype)
            rtol = rtol if settings.rtol is None else settings.rtol
            atol = atol if settings.atol is None else settings.atol
            gradients.append(GradientResult(slot.name, x.shape, x.dtype, "-", None, None, None, rtol, atol, {},
                                            diagnoses))
    output = point.preflight.output
    return GradcheckReport(
        target=f"{target.description} ({target.kind})", output_shape=output.shape, output_dtype=output.dtype,
        seed=settings.seed, gradients=gradients, general=general,
        jacobian=lambda index: _jacobians(target, arrays, output.shape, index))


def _jacobians(target, arrays: Sequence[np.ndarray], output_shape: tuple, index: int) -> Jacobians:
    slot = target.slots[index]
    shape = arrays[slot.position].shape
    with target.prepared():
        arrays64 = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
        numerical = numerical_jacobian(target, arrays64, slot.position)
        dtype = target.open(copies(arrays)).output.dtype
        rows = []
        for k in range(int(np.prod(output_shape))):
            one_hot = np.zeros(output_shape, dtype=dtype)
            one_hot.flat[k] = 1
            grad = target.open(copies(arrays)).backward(one_hot)[index]
            grad = np.zeros(shape) if grad is None else grad
            if grad.shape != shape:
                raise ValueError(f"jacobian: backward returns shape {grad.shape} for {slot.name} of shape {shape}")
            rows.append(grad.astype(np.float64).ravel())
    analytical = np.stack(rows) if rows else np.zeros((0, int(np.prod(shape))))
    return Jacobians(analytical, numerical)
