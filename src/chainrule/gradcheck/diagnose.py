"""From "these numbers differ" to "this is the bug it looks like".

Shape first (:func:`fit_to_input`): a gradient in the broadcast shape is a missing
sum over the broadcast axes; one in the reversed shape is transposed. Then values
(:func:`diagnose`), each candidate tried as a transformation of the numerical
gradient that the analytical one must match on all but 2% of the elements:

    swapped_inputs  a_i ≈ n_j and a_j ≈ n_i          scaled          a ≈ c·n (names a dimension c equals)
    not_propagated  a = 0                            transposed      a ≈ nᵀ
    sign_flipped    a ≈ −n (everywhere, or exactly   wrong_layout    sorted(a) ≈ sorted(n)
                    on the mismatching elements)     unexplained     with a hint at structure in a − n

Pre-flight findings (ignores_upstream, accumulates, ...) explain a failing gradient
before any of these are tried.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..broadcast import sum_to
from .compare import Comparison
from .report import KINK, MISMATCH, NOISE, SUBGRADIENT, Diagnosis

OUTLIER_SHARE = 1 / 50
_EXCUSED = (KINK, SUBGRADIENT, NOISE)


@dataclasses.dataclass
class Evidence:
    """One gradient: its input's values, what backward returned, and the comparison."""

    name: str
    x: np.ndarray
    raw: np.ndarray | None
    analytical: np.ndarray
    comparison: Comparison
    shape_diagnoses: list[Diagnosis]

    def agree(self, a: np.ndarray, b: np.ndarray, slack: np.ndarray | float = 0.0) -> np.ndarray:
        c = self.comparison
        with np.errstate(invalid="ignore"):
            return np.abs(a - b) <= c.atol + slack + c.rtol * np.maximum(np.abs(a), np.abs(b))

    def slack(self) -> np.ndarray:
        """The numerical noise measured at each element (0 where it was not measured)."""
        noise = np.zeros(self.x.size)
        for flat, value in self.comparison.noise.items():
            noise[flat] = value
        return noise.reshape(self.x.shape)

    def mismatched(self) -> np.ndarray:
        mask = np.zeros(self.x.size, dtype=bool)
        mask[[flat for flat, verdict in self.comparison.verdicts.items() if verdict == MISMATCH]] = True
        return mask.reshape(self.x.shape)

    def usable(self) -> np.ndarray:
        """Elements with a finite numerical estimate that no kink or noise excuses."""
        mask = np.isfinite(self.comparison.numerical).ravel()
        for flat, verdict in self.comparison.verdicts.items():
            if verdict in _EXCUSED:
                mask[flat] = False
        return mask.reshape(self.x.shape)

    def holds(self, a: np.ndarray, candidate: np.ndarray, where: np.ndarray | None = None) -> bool:
        """a ≈ candidate on the usable elements (of ``where``), but for ≤ 2% outliers."""
        usable = self.usable() if where is None else self.usable() & where
        return mostly(self.agree(a[usable], candidate[usable], self.slack()[usable]))


def mostly(agreement: np.ndarray) -> bool:
    """True for a non-empty agreement mask with at most 2% False."""
    return agreement.size > 0 and np.count_nonzero(~agreement) <= int(agreement.size * OUTLIER_SHARE)


@dataclasses.dataclass
class Context:
    """The whole call: every array's name and shape, and the output."""

    names: list[str]
    shapes: list[tuple]
    output: np.ndarray


def fit_to_input(name: str, raw: np.ndarray | None, shape: tuple) -> tuple[np.ndarray | None, list[Diagnosis]]:
    """The gradient as float64 in the input's shape, and what was wrong with its shape.

    None back means it could not be matched to the input at all.
    """
    if raw is None:
        return np.zeros(shape), []
    if raw.shape == shape:
        return raw.astype(np.float64), []
    try:
        summed = sum_to(raw, shape)
    except ValueError:
        summed = None
    if summed is not None:
        return summed.astype(np.float64), [Diagnosis("missing_broadcast_sum", _broadcast_message(name, raw.shape, shape),
                                                     name)]
    if raw.ndim == len(shape) >= 2 and raw.shape == shape[::-1]:
        return raw.T.astype(np.float64), [Diagnosis(
            "transposed", f"the gradient has shape {raw.shape}, the transpose of {name}'s {shape}: "
            f"return its transpose (e.g. dW = dyᵀ·x, not xᵀ·dy)", name)]
    message = f"the gradient has shape {raw.shape}, but {name} has shape {shape}"
    if raw.size == int(np.prod(shape)):
        return raw.reshape(shape).astype(np.float64), [Diagnosis(
            "wrong_shape", message + "; same number of elements, compared after a reshape", name)]
    return None, [Diagnosis("wrong_shape", message, name)]


def _broadcast_message(name: str, got: tuple, shape: tuple) -> str:
    lead = len(got) - len(shape)
    axes = list(range(lead)) + [lead + i for i, n in enumerate(shape) if n == 1 and got[lead + i] != 1]
    listed = " and ".join(f"axis {a} (size {got[a]})" for a in axes)
    kept = [a for a in axes if a >= lead]
    keep = f", keeping axis {', '.join(map(str, kept))} as size 1" if kept else ""
    return (f"the gradient has the broadcast shape {got}, but {name} has shape {shape}: sum it over "
            f"{listed}{keep} (chainrule.broadcast.sum_to(grad, {shape}) does this)")


def diagnose(evidence: list[Evidence], context: Context, explained: set[str], sums_upstream: set[str]
             ) -> dict[str, list[Diagnosis]]:
    """The diagnoses of each gradient, shape findings first; ``explained`` names the gradients a
    pre-flight finding already accounts for."""
    swaps = _swaps(evidence)
    found = {}
    for e in evidence:
        if e.name in swaps:
            found[e.name] = [swaps[e.name]] + _notes(e)
        else:
            found[e.name] = e.shape_diagnoses + _explanation(e, context, explained, sums_upstream) + _notes(e)
    return found


def _explanation(e: Evidence, context: Context, explained: set[str], sums_upstream: set[str]) -> list[Diagnosis]:
    """What the values of a mismatching gradient say, unless a pre-flight finding said it first."""
    if not e.comparison.mismatched or e.name in explained or e.analytical is None:
        return []
    if e.name in sums_upstream:
        return [Diagnosis("ignores_upstream", "backward depends only on the sum of the upstream gradient: two G "
                          "with the same sum gave the same result (is dy summed, e.g. dy.sum(), where it should be "
                          "used elementwise?)", e.name)]
    return [_value_diagnosis(e, context)]


def _swaps(evidence: list[Evidence]) -> dict[str, Diagnosis]:
    swaps = {}
    for i, first in enumerate(evidence):
        for second in evidence[i + 1:]:
            if _swapped(first, second):
                message = f"the gradients of {first.name} and {second.name} are swapped: backward returns them in the wrong order"
                swaps[first.name] = Diagnosis("swapped_inputs", message, first.name)
                swaps[second.name] = Diagnosis("swapped_inputs", message, second.name)
    return swaps


def _swapped(first: Evidence, second: Evidence) -> bool:
    wrong = [e.comparison.mismatched or bool(e.shape_diagnoses) for e in (first, second)]
    if first.raw is None or second.raw is None or not any(wrong):
        return False
    if first.raw.shape != second.x.shape or second.raw.shape != first.x.shape:
        return False
    n1, n2 = first.comparison.numerical, second.comparison.numerical
    if np.isnan(n1).any() or np.isnan(n2).any():
        return False
    return (second.holds(first.raw.astype(np.float64), n2) and first.holds(second.raw.astype(np.float64), n1)
            and not (first.analytical is not None and first.holds(first.analytical, n1)))


def _value_diagnosis(e: Evidence, context: Context) -> Diagnosis:
    a, n = e.analytical, e.comparison.numerical
    usable = e.usable()
    mismatched = e.mismatched()
    if not np.any(a[usable]):
        returned = "None" if e.raw is None else "zeros"
        return Diagnosis("not_propagated", f"backward returned {returned} for {e.name}, whose gradient is not zero: "
                         "the gradient is not propagated", e.name)
    norm = float(np.sum(n[usable] ** 2))
    if norm > 0:
        factor = float(np.sum(a[usable] * n[usable]) / norm)
        if e.holds(a, factor * n) and not e.holds(a, n):
            if abs(factor + 1) <= 1e-3:
                return Diagnosis("sign_flipped", f"analytical = −numerical on every element of {e.name}: the sign "
                                 "of the gradient is flipped", e.name)
            return Diagnosis("scaled", _scale_message(factor, e.name, context), e.name)
    if a.ndim >= 2 and a.shape[-1] == a.shape[-2] > 1 and e.holds(a, np.swapaxes(n, -1, -2)):
        return Diagnosis("transposed", f"analytical = numericalᵀ: the gradient of {e.name} is transposed "
                         "(e.g. dW = xᵀ·dy where dyᵀ·x was meant)", e.name)
    count = int(mismatched.sum())
    if count and e.holds(a, -n, where=mismatched):
        return Diagnosis("sign_flipped", f"analytical = −numerical on {count} of {a.size} elements of {e.name}"
                         f"{_where(mismatched, e.x)} (the others agree): the sign is flipped there", e.name)
    if count and not np.any(a[mismatched]):
        return Diagnosis("not_propagated", f"the gradient of {e.name} is 0 on {count} of {a.size} elements"
                         f"{_where(mismatched, e.x)}, where it should not be", e.name)
    if mostly(e.agree(np.sort(a[usable]), np.sort(n[usable]))):
        return Diagnosis("wrong_layout", f"the right values in the wrong places: the gradient of {e.name} holds the "
                         "numerical values, permuted (a reshape where a transpose was meant?)", e.name)
    excess = np.abs(a - n) / e.comparison.tolerance
    worst = np.unravel_index(int(np.argmax(np.where(mismatched, excess, -1))), a.shape)
    summary = (f"{count} of {a.size} elements of {e.name} differ (worst at {[int(i) for i in worst]}: analytical "
               f"{a[worst]:.6g}, numerical {n[worst]:.6g}); no sign, scale, transpose or layout error explains it")
    hint = _structure_hint(a - n, e, context)
    return Diagnosis("unexplained", summary + (f"; {hint}" if hint else ""), e.name)


def _where(mask: np.ndarray, x: np.ndarray) -> str:
    for phrase, region in (("negative", x < 0), ("positive", x > 0), ("zero", x == 0)):
        if np.array_equal(mask, region):
            return f", exactly where the input is {phrase}"
    return ""


def _nice_ratio(factor: float) -> tuple[str, int | None, int | None]:
    """(factor as text, N when factor ≈ N, N when factor ≈ 1/N), for N ≥ 2."""
    if factor > 0:
        times, fraction = round(factor), round(1 / factor)
        if times >= 2 and abs(factor - times) <= 1e-3 * factor:
            return f"{times}×", times, None
        if fraction >= 2 and abs(1 / factor - fraction) <= 1e-3 / factor:
            return f"1/{fraction} of", None, fraction
    return f"{factor:.4g}×", None, None


def _dimensions(context: Context) -> list[tuple[int, str]]:
    """Every size a factor could come from: each axis, and each array's element count."""
    found = []
    for name, shape in list(zip(context.names, context.shapes)) + [("the output", context.output.shape)]:
        found += [(n, f"axis {axis} of size {n} ({name} has shape {shape})") for axis, n in enumerate(shape)]
        if len(shape) > 1:
            found.append((int(np.prod(shape)), f"all {int(np.prod(shape))} elements of {name} (shape {shape})"))
    return found


def _scale_message(factor: float, name: str, context: Context) -> str:
    text, times, fraction = _nice_ratio(factor)
    size = times or fraction
    matches = [phrase for n, phrase in _dimensions(context) if size and n == size]
    head = f"the gradient of {name} is {text} the true one on every element"
    if times and matches:
        return f"{head}: looks like a sum where a mean was meant over {matches[0]}"
    if fraction and matches:
        return f"{head}: looks like a mean where a sum was meant, or one division too many, over {matches[0]}"
    if times == 2:
        return f"{head}: a factor 2 applied twice (d(x²)/dx = 2x, doubled again?)"
    if fraction == 2:
        return f"{head}: a missing factor 2 (d(x²)/dx = 2x?)"
    return head


def _structure_hint(error: np.ndarray, e: Evidence, context: Context) -> str | None:
    """A pattern in a − n along one axis: constant, or affine in the output or the input, per slice."""
    references = [("constant", np.zeros_like(error)), ("output", context.output), ("input", e.x)]
    for axis in range(error.ndim):
        length = error.shape[axis]
        if length < 4 or error.size // length * (length - 2) < 6:  # too few degrees of freedom to mean anything
            continue
        rows = np.moveaxis(error, axis, -1).reshape(-1, length)
        for kind, reference in references:
            if reference.shape == error.shape and _affine_per_row(
                    rows, np.moveaxis(reference.astype(np.float64), axis, -1).reshape(-1, length)):
                return _HINTS[kind].format(axis=axis, name=e.name)
    return None


_HINTS = {
    "constant": "along axis {axis} the error is the same for every element of a slice: a term constant along "
                "axis {axis} (a mean or sum over it, like −mean(dy) in a normalisation's backward) is missing or wrong",
    "output": "along axis {axis} the error is c·y + d in every slice (y the output, c and d one number per slice): a "
              "term like y·Σ(dy·y) over axis {axis} (the projection in a softmax backward) is missing or wrong",
    "input": "along axis {axis} the error is c·x + d in every slice (x = {name}, c and d one number per slice): a "
             "term proportional to the (normalised) input, like x̂·mean(dy·x̂) in a layer-norm backward, is "
             "missing or wrong",
}


def _affine_per_row(error: np.ndarray, reference: np.ndarray) -> bool:
    """error ≈ c·reference + d in every row, with c and d fitted per row."""
    total = np.sum(error**2)
    if total == 0:
        return False
    e = error - error.mean(axis=1, keepdims=True)
    r = reference - reference.mean(axis=1, keepdims=True)
    spread = np.sum(r**2, axis=1, keepdims=True)
    slope = np.divide(np.sum(e * r, axis=1, keepdims=True), spread, out=np.zeros_like(spread), where=spread > 0)
    return np.sum((e - slope * r) ** 2) <= 1e-6 * total


def _notes(e: Evidence) -> list[Diagnosis]:
    """Non-fatal findings: kinks accepted as subgradients, mismatches within the noise."""
    notes = []
    verdicts = e.comparison.verdicts
    subgradients = [flat for flat, v in verdicts.items() if v == SUBGRADIENT]
    if subgradients:
        flat = subgradients[0]
        index = [int(i) for i in np.unravel_index(flat, e.x.shape)]
        notes.append(Diagnosis(
            "kink", f"{len(subgradients)} element(s) of {e.name} sit on a kink, e.g. {index} = {e.x.flat[flat]:.6g} "
            f"({e.comparison.kinks[flat].describe()}); the analytical value lies between them: a valid subgradient",
            e.name, fatal=False))
    noisy = [flat for flat, v in verdicts.items() if v == NOISE]
    if noisy:
        bound = max(e.comparison.noise[flat] for flat in noisy)
        notes.append(Diagnosis(
            "numerical_noise", f"{len(noisy)} element(s) of {e.name} differ by more than the tolerance but less than "
            f"the finite differences' own error (up to {bound:.1e}): inconclusive, not a failure", e.name, fatal=False))
    return notes
