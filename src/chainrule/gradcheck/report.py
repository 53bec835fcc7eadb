"""The outcome of a gradient check, and how it prints.

A :class:`GradcheckReport` holds one :class:`GradientResult` per checked input and
parameter, and the :class:`Diagnosis` items that explain what went wrong. It prints as
a short table (one line per gradient: its worst element, the errors, the diagnosis),
never a full matrix; the arrays stay available as attributes.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

# CS231n's reading of the relative error |a − n| / max(|a|, |n|).
RELATIVE_ERROR_BANDS = (
    (1e-7, "good (<1e-7)"),
    (1e-4, "ok only at kinks (<1e-4)"),
    (1e-2, "suspicious (<1e-2)"),
    (math.inf, "wrong (>1e-2)"),
)

PASS, FAIL, INCONCLUSIVE, NOT_CHECKED = "pass", "FAIL", "inconclusive", "not checked"

# Verdicts for elements outside the tolerance.
MISMATCH, KINK, SUBGRADIENT, NOISE = "mismatch", "kink", "subgradient", "noise"


def relative_error(analytical: float, numerical: float) -> float:
    """|a − n| / max(|a|, |n|); 0 when both are 0."""
    scale = max(abs(analytical), abs(numerical))
    if scale == 0:
        return 0.0
    return abs(analytical - numerical) / scale


def relative_error_band(rel: float) -> str:
    """CS231n's verdict on a relative error (NaN reads as wrong)."""
    for bound, band in RELATIVE_ERROR_BANDS:
        if rel < bound:
            return band
    return RELATIVE_ERROR_BANDS[-1][1]


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """One finding. ``code`` is stable (tests and tools match on it); ``message`` is for people.

    ``subject`` names the gradient it is about (``"input 0"``, ``"weight"``), or is
    None for the function as a whole. A non-fatal diagnosis (``kink``,
    ``numerical_noise``) explains something without failing the check.
    """

    code: str
    message: str
    subject: str | None = None
    fatal: bool = True

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


_EXCUSED_BANDS = {SUBGRADIENT: "kink: a valid subgradient", NOISE: "within the numerical noise"}


@dataclasses.dataclass(frozen=True)
class ElementError:
    """One element of one gradient: analytical against numerical."""

    gradient: str
    index: tuple
    analytical: float
    numerical: float
    tolerance: float
    verdict: str  # "ok", or for an element outside the tolerance: mismatch, kink, subgradient, noise

    @property
    def abs_error(self) -> float:
        return abs(self.analytical - self.numerical)

    @property
    def rel_error(self) -> float:
        return relative_error(self.analytical, self.numerical)

    @property
    def band(self) -> str:
        """CS231n's band for the relative error, unless the element was excused (a kink, noise) or
        both values are within the tolerance of 0, where a relative error means nothing."""
        if self.verdict in _EXCUSED_BANDS:
            return _EXCUSED_BANDS[self.verdict]
        if max(abs(self.analytical), abs(self.numerical)) <= self.tolerance:
            return "≈ 0 (within atol)"
        return relative_error_band(self.rel_error)

    def __str__(self) -> str:
        return (f"{self.gradient}{list(self.index)}: analytical {self.analytical:.6g}, numerical "
                f"{self.numerical:.6g}, abs err {self.abs_error:.1e}, rel err {self.rel_error:.1e} ({self.verdict})")


@dataclasses.dataclass
class GradientResult:
    """The check of one gradient (an input or a parameter).

    ``analytical`` is what backward returned, as float64 in the input's shape (None
    when its shape could not be matched to the input's); ``numerical`` is the
    finite-difference estimate, NaN where the fast check did not estimate it;
    ``tolerance`` is the per-element bound atol + rtol·max(|a|, |n|).
    """

    name: str
    shape: tuple
    dtype: np.dtype
    method: str
    analytical: np.ndarray | None
    numerical: np.ndarray | None
    tolerance: np.ndarray | None
    rtol: float
    atol: float
    verdicts: dict[int, str]
    diagnoses: list[Diagnosis]

    @property
    def status(self) -> str:
        if self.numerical is None and not self.diagnoses:
            return NOT_CHECKED
        if any(d.fatal for d in self.diagnoses) or MISMATCH in self.verdicts.values():
            return FAIL
        if NOISE in self.verdicts.values():
            return INCONCLUSIVE
        return PASS if self.numerical is not None else NOT_CHECKED

    @property
    def passed(self) -> bool:
        return self.status in (PASS, INCONCLUSIVE)

    def elements(self) -> list[ElementError]:
        """Every estimated element, the furthest beyond its tolerance first."""
        if self.analytical is None or self.numerical is None:
            return []
        a, n, tol = self.analytical.ravel(), self.numerical.ravel(), self.tolerance.ravel()
        estimated = ~np.isnan(n)
        estimated[list(self.verdicts)] = True
        checked = np.flatnonzero(estimated)
        with np.errstate(invalid="ignore", divide="ignore"):
            excess = np.abs(a[checked] - n[checked]) / tol[checked]
        excess = np.where(np.isnan(excess), np.inf, excess)
        order = checked[np.argsort(-excess, kind="stable")]
        return [
            ElementError(self.name, tuple(int(i) for i in np.unravel_index(flat, self.shape)),
                         float(a[flat]), float(n[flat]), float(tol[flat]), self.verdicts.get(int(flat), "ok"))
            for flat in order
        ]

    @property
    def worst(self) -> ElementError | None:
        """The element furthest beyond (or closest to) its tolerance."""
        elements = self.elements()
        return elements[0] if elements else None


class Jacobians(NamedTuple):
    """Analytical and numerical Jacobian of the output with respect to one input:
    each (output elements, input elements), rows in the output's C order."""

    analytical: np.ndarray
    numerical: np.ndarray


class GradcheckReport:
    """What :func:`chainrule.gradcheck` found: print it, or ask it.

    ``passed`` is True when every gradient passed or was inconclusive (a mismatch
    within the finite differences' own noise) and no check failed. ``gradients`` has
    one :class:`GradientResult` per input and parameter; ``diagnoses`` lists every
    finding, the function-wide ones first.
    """

    def __init__(self, *, target: str, output_shape: tuple | None, output_dtype, seed: int,
                 gradients: list[GradientResult], general: list[Diagnosis],
                 jacobian: Callable[[int], Jacobians]):
        self.target = target
        self.output_shape = output_shape
        self.output_dtype = output_dtype
        self.seed = seed
        self.gradients = gradients
        self.general = general
        self._jacobian = jacobian

    @property
    def passed(self) -> bool:
        return not any(d.fatal for d in self.general) and all(g.passed for g in self.gradients)

    @property
    def diagnoses(self) -> list[Diagnosis]:
        return list(self.general) + [d for g in self.gradients for d in g.diagnoses]

    @property
    def codes(self) -> set[str]:
        """The codes of the fatal diagnoses."""
        return {d.code for d in self.diagnoses if d.fatal}

    def worst(self, k: int = 5) -> list[ElementError]:
        """The k elements, over all gradients, furthest beyond their tolerance."""
        everything = [e for g in self.gradients for e in g.elements()[:k]]
        everything.sort(key=_excess, reverse=True)
        return everything[:k]

    def jacobian(self, which: int | str) -> Jacobians:
        """The full Jacobians for one gradient, by position in ``gradients`` or by name.

        Computed on request (one backward per output element, four forwards per input
        element), at the point the check ended on.
        """
        if isinstance(which, str):
            names = [g.name for g in self.gradients]
            if which not in names:
                raise KeyError(f"no gradient named {which!r}; the report has {names}")
            which = names.index(which)
        return self._jacobian(which)

    def __str__(self) -> str:
        return format_report(self)

    def __repr__(self) -> str:
        verdict = "passed" if self.passed else "failed: " + ", ".join(sorted(self.codes))
        return f"<GradcheckReport {self.target}: {verdict}>"


def _excess(element: ElementError) -> float:
    if element.tolerance > 0:
        ratio = element.abs_error / element.tolerance
        return math.inf if math.isnan(ratio) else ratio
    return math.inf if element.abs_error > 0 else 0.0


class GradcheckError(AssertionError):
    """A gradient check failed; ``report`` says where and why (and prints as the message)."""

    def __init__(self, report: GradcheckReport):
        super().__init__(str(report))
        self.report = report


def format_report(report: GradcheckReport) -> str:
    """The report as a short table: one row per gradient, its diagnoses under it."""
    output = "no output" if report.output_shape is None else f"output {report.output_shape} {report.output_dtype}"
    lines = [f"gradcheck {report.target} · {output} · seed {report.seed}"]
    header = ["gradient", "shape", "check", "result", "worst", "analytical", "numerical", "abs err", "rel err", "band"]
    rows = [header] + [_row(g) for g in report.gradients]
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    for row, gradient in zip(rows, [None] + report.gradients):
        lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if gradient is not None:
            lines.extend("    " + _diagnosis_line(d) for d in gradient.diagnoses)
    lines.extend("  " + _diagnosis_line(d) for d in report.general)
    lines.append(_tolerance_line(report.gradients))
    failed = [g.name for g in report.gradients if not g.passed]
    count = f"{len(report.gradients)} gradient" + ("" if len(report.gradients) == 1 else "s")
    if report.passed:
        inconclusive = sum(g.status == INCONCLUSIVE for g in report.gradients)
        summary = f"passed: {count}" + (f", {inconclusive} inconclusive" if inconclusive else "")
    else:
        parts = [f"{len(failed)} of {count} ({', '.join(failed)})"] if failed else []
        general = sorted({d.code for d in report.general if d.fatal})
        parts += [f"the function as a whole: {', '.join(general)}"] if general else []
        summary = "FAILED: " + "; ".join(parts)
    lines.append(f"{summary}; reproduce with seed={report.seed}")
    return "\n".join(lines)


def _row(gradient: GradientResult) -> list[str]:
    cells = [gradient.name, str(gradient.shape), gradient.method, gradient.status]
    worst = gradient.worst
    if worst is None:
        return cells + ["-"] * 6
    return cells + [str(list(worst.index)), f"{worst.analytical:.6g}", f"{worst.numerical:.6g}",
                    f"{worst.abs_error:.1e}", f"{worst.rel_error:.1e}", worst.band]


def _diagnosis_line(diagnosis: Diagnosis) -> str:
    return str(diagnosis) if diagnosis.fatal else f"note {diagnosis}"


def _tolerance_line(gradients: list[GradientResult]) -> str:
    groups: dict[float, list[float]] = {}
    for g in gradients:
        groups.setdefault(g.rtol, []).append(g.atol)
    parts = []
    for rtol, atols in groups.items():
        low, high = f"{min(atols):.1e}", f"{max(atols):.1e}"
        parts.append(f"rtol {rtol:.0e}, atol {low}" + (f" to {high}" if high != low else ""))
    return "tolerance |a − n| ≤ atol + rtol·max(|a|, |n|): " + "; ".join(parts)
