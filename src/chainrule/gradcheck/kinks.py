"""Kinks: points where φ is not differentiable (relu at 0, a tie in a max, |x| at 0).

A finite difference that straddles a kink measures a blend of the two one-sided
slopes, so a correct gradient looks wrong there. To recognise one, φ is sampled
along the failing coordinate on a grid of half steps over ±3h. The slopes between
neighbouring samples are constant, or drift slowly with curvature, on each side of a
kink, and jump at it; with no kink they drift evenly. So: a kink is where nearly all
the change of slope (≥ 90%) happens within one grid cell, inside the stencil's ±2h,
and that change is larger than both the tolerance and float64 rounding.
"""
from __future__ import annotations

import dataclasses

import numpy as np

GRID = np.arange(-6, 7) / 2  # sample offsets, in steps h
CONCENTRATION = 0.9
MOVE_DISTANCE = 10  # steps h between a moved input and its kink
_EPS = np.finfo(np.float64).eps


@dataclasses.dataclass(frozen=True)
class Kink:
    """A kink ``offset`` steps from x_i, with the slopes of φ on either side of it."""

    offset: float
    left_slope: float
    right_slope: float

    def admits(self, value: float, tolerance: float) -> bool:
        """Whether ``value`` is a subgradient: between the one-sided slopes."""
        low, high = sorted((self.left_slope, self.right_slope))
        return low - tolerance <= value <= high + tolerance

    def moved(self, x: float, step: float) -> float:
        """x moved MOVE_DISTANCE steps clear of the kink, on the side it already was."""
        side = -1.0 if self.offset > 0 else 1.0
        return x + (self.offset + side * MOVE_DISTANCE) * step

    def describe(self) -> str:
        return f"one-sided slopes {self.left_slope:.4g} and {self.right_slope:.4g}"


def find_kink(objective, position: int, flat: int, tolerance: float) -> Kink | None:
    """The kink of φ near element ``flat`` of the array at ``position``, if there is one."""
    step = float(objective.steps(position).flat[flat])
    values = objective.along_coordinate(position, flat, GRID)
    slopes = np.diff(values) / (step / 2)
    jumps = np.diff(slopes)  # jump k happens at grid point GRID[k + 1]
    sizes = np.abs(jumps)
    total = sizes.sum()
    if not np.isfinite(total) or total == 0:
        return None
    pairs = sizes[:-1] + sizes[1:]
    k = int(np.argmax(pairs))
    if pairs[k] < CONCENTRATION * total:
        return None
    offset = float(np.dot(GRID[k + 1:k + 3], sizes[k:k + 2]) / pairs[k])
    change = abs(jumps[k] + jumps[k + 1])
    rounding = 64 * _EPS * np.max(np.abs(values)) / (step / 2)
    if abs(offset) > 2 or change <= max(tolerance, rounding):
        return None
    return Kink(offset, float(slopes[0]), float(slopes[-1]))
