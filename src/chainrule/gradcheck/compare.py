"""Analytical against numerical, one gradient at a time.

- The full check estimates every element (inputs of up to FULL_CHECK_MAX_ELEMENTS
  elements, or ``mode="full"``).
- The fast check (larger inputs, or ``mode="fast"``) compares FAST_DIRECTIONS random
  directional derivatives and FAST_COORDINATES single elements (the corners, then
  random ones); any mismatch there escalates to the full check.

An element is within tolerance when |a − n| ≤ atol + rtol·max(|a|, |n|). One outside
it is sorted out: a kink (see kinks.py), numerical noise (the mismatch is within the
estimate's own error: inconclusive), or a real mismatch.
"""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from .kinks import Kink, find_kink
from .numerical import DIRECTION_STEP, STENCIL, Objective, five_point
from .report import KINK, MISMATCH, NOISE, SUBGRADIENT

FULL_CHECK_MAX_ELEMENTS = 2000
FAST_DIRECTIONS = 3
FAST_COORDINATES = 32
MAX_CORNERS = 16
PROBE_BUDGET = 32  # out-of-tolerance elements examined for kinks and noise, per gradient

# (rtol, atol per unit of the largest numerical gradient element); float32 gradients
# carry ~1e-7 relative rounding per operation, float64 ones ~1e-16.
FLOAT64_TOLERANCE = (1e-6, 1e-8)
FLOAT32_TOLERANCE = (1e-2, 1e-4)


def default_tolerance(dtype) -> tuple[float, float]:
    """(rtol, atol scale) for gradients of this dtype: float64, or anything narrower."""
    return FLOAT64_TOLERANCE if np.dtype(dtype) == np.float64 else FLOAT32_TOLERANCE


@dataclasses.dataclass
class Comparison:
    """The numerical side of one gradient, and the verdicts on out-of-tolerance elements."""

    method: str
    numerical: np.ndarray
    tolerance: np.ndarray
    rtol: float
    atol: float
    verdicts: dict[int, str]
    kinks: dict[int, Kink]
    noise: dict[int, float]

    @property
    def mismatched(self) -> bool:
        return MISMATCH in self.verdicts.values()


class Comparer:
    """Runs the full or fast check on each gradient at one point.

    settle_kinks: decide kinks now (a value between the one-sided slopes passes as a
    subgradient) instead of reporting them, to be moved away and checked again.
    """

    def __init__(self, objective: Objective, *, mode: str, rtol: float | None, atol: float | None,
                 settle_kinks: bool, seed: int):
        self.objective = objective
        self.mode = mode
        self.rtol = rtol
        self.atol = atol
        self.settle_kinks = settle_kinks
        self.seed = seed

    def compare(self, position: int, analytical: np.ndarray | None, dtype, force_full: bool = False) -> Comparison:
        size = self.objective.point(position).size
        full = force_full or analytical is None or self.mode == "full" or (
            self.mode == "auto" and size <= FULL_CHECK_MAX_ELEMENTS)
        if full:
            return self._full(position, analytical, dtype, "full")
        return self._fast(position, analytical, dtype) or self._full(position, analytical, dtype, "fast→full")

    def _tolerances(self, dtype, numerical: np.ndarray) -> tuple[float, float]:
        rtol, atol_scale = default_tolerance(dtype)
        if self.atol is not None:
            atol = self.atol
        else:
            finite = np.abs(numerical[np.isfinite(numerical)])
            atol = atol_scale * max(1.0, float(finite.max()) if finite.size else 1.0)
        return (rtol if self.rtol is None else self.rtol), atol

    def _full(self, position: int, analytical, dtype, method: str) -> Comparison:
        shape = self.objective.point(position).shape
        estimates, samples = self.objective.gradient(position)
        numerical = estimates.reshape(shape)
        rtol, atol = self._tolerances(dtype, numerical)
        reference = np.abs(numerical) if analytical is None else np.maximum(np.abs(analytical), np.abs(numerical))
        comparison = Comparison(method, numerical, atol + rtol * reference, rtol, atol, {}, {}, {})
        if analytical is not None:
            self._sort_out(position, comparison, analytical.ravel(), np.arange(numerical.size), estimates, samples)
        return comparison

    def _fast(self, position: int, analytical: np.ndarray, dtype) -> Comparison | None:
        """The fast check, or None when something in it failed."""
        x = self.objective.point(position)
        rng = np.random.default_rng([self.seed, 1, position])
        flats = _sample_elements(x.shape, rng)
        estimates, samples = self.objective.gradient(position, flats)
        numerical = np.full(x.shape, np.nan)
        numerical.flat[flats] = estimates
        rtol, atol = self._tolerances(dtype, estimates)
        tolerance = np.full(x.shape, np.nan)
        tolerance.flat[flats] = atol + rtol * np.maximum(np.abs(analytical.flat[flats]), np.abs(estimates))
        comparison = Comparison("fast", numerical, tolerance, rtol, atol, {}, {}, {})
        self._sort_out(position, comparison, analytical.ravel(), flats, estimates, samples)
        if comparison.mismatched:
            return None
        scale = np.maximum(1.0, np.abs(x.astype(np.float64)))
        for _ in range(FAST_DIRECTIONS):
            direction = rng.standard_normal(x.shape) * scale
            along = five_point(self.objective.along_direction(position, direction, STENCIL), DIRECTION_STEP)
            terms = analytical * direction
            if not abs(terms.sum() - along) <= atol * np.abs(direction).sum() + rtol * max(np.abs(terms).sum(), abs(along)):
                return None
        return comparison

    def _sort_out(self, position: int, comparison: Comparison, analytical: np.ndarray, flats: np.ndarray,
                  estimates: np.ndarray, samples: np.ndarray) -> None:
        """Give each out-of-tolerance element among ``flats`` a verdict (the worst PROBE_BUDGET examined)."""
        a = analytical[flats]
        tolerance = comparison.tolerance.ravel()[flats]
        error = np.abs(a - estimates)
        outside = ~(error <= tolerance) & ~(np.isnan(a) & np.isnan(estimates))
        with np.errstate(invalid="ignore", divide="ignore"):
            excess = np.where(np.isnan(error), np.inf, error / tolerance)
        for rank, k in enumerate(sorted(np.flatnonzero(outside), key=lambda k: -excess[k])):
            flat = int(flats[k])
            if rank >= PROBE_BUDGET or not np.isfinite(error[k]):
                comparison.verdicts[flat] = MISMATCH
                continue
            comparison.verdicts[flat] = self._classify(position, flat, float(a[k]), float(error[k]),
                                                       float(tolerance[k]), samples[k], comparison)

    def _classify(self, position: int, flat: int, analytical: float, error: float, tolerance: float,
                  samples: np.ndarray, comparison: Comparison) -> str:
        kink = find_kink(self.objective, position, flat, tolerance)
        if kink is not None:
            comparison.kinks[flat] = kink
            if not self.settle_kinks:
                return KINK
            return SUBGRADIENT if kink.admits(analytical, tolerance) else MISMATCH
        noise = self.objective.noise(position, flat, samples)
        comparison.noise[flat] = noise
        return NOISE if error <= noise else MISMATCH


def _sample_elements(shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Flat indices of the corners (each axis at 0 or its end) and of random elements."""
    size = int(np.prod(shape))
    if size <= FAST_COORDINATES:
        return np.arange(size)
    ends = [sorted({0, n - 1}) for n in shape]
    corners = [int(np.ravel_multi_index(c, shape)) for c in itertools.islice(itertools.product(*ends), MAX_CORNERS)]
    chosen = dict.fromkeys(corners)
    for flat in rng.choice(size, size=min(size, 2 * FAST_COORDINATES), replace=False):
        if len(chosen) >= FAST_COORDINATES:
            break
        chosen.setdefault(int(flat))
    return np.array(list(chosen), dtype=np.int64)
