"""Finite differences in float64: the reference every analytical gradient is held to.

The objective is φ(x) = ⟨G, f(x)⟩ for the check's fixed upstream gradient G, so that
∂φ/∂x_i is element i of the vector-Jacobian product ``backward(G)`` must return.
Derivatives use the 5-point central stencil

    φ'(0) ≈ (φ(−2h) − 8φ(−h) + 8φ(h) − φ(2h)) / 12h            (error O(h⁴))

with h = 1e-3·max(1, |x_i|) along coordinate i. Its error is estimated from the same
stencil at 2h (a truncation error 16× larger, so their difference bounds it), from
the noise of φ itself measured on a fine grid, and from the rounding of float64 sums.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

COORDINATE_STEP = 1e-3
# Along a random direction every element moves at once; a step this small keeps the
# chance that one of thousands of elements straddles a kink (relu at 0) negligible.
DIRECTION_STEP = 1e-6
STENCIL = (-2.0, -1.0, 1.0, 2.0)
WIDE_STENCIL = (-4.0, 4.0)  # with ±2h from STENCIL, the stencil at 2h
FINE_GRID = np.arange(-8, 9) / 16  # 17 samples within ±h/2, to measure the noise of φ itself
NOISE_SIGMAS = 4.0
_EPS = np.finfo(np.float64).eps


def five_point(values: Sequence[float], step: float) -> float:
    """φ'(0) from φ at −2, −1, 1, 2 steps."""
    return (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * step)


def rounding_error(values: Sequence[float], step: float) -> float:
    """A bound on what float64 rounding of the φ values can do to five_point."""
    return 4 * _EPS * (abs(values[0]) + 8 * abs(values[1]) + 8 * abs(values[2]) + abs(values[3])) / (12 * step)


def coordinate_steps(x: np.ndarray) -> np.ndarray:
    """h_i = 1e-3·max(1, |x_i|), as float64."""
    return COORDINATE_STEP * np.maximum(1.0, np.abs(x.astype(np.float64)))


class Objective:
    """φ = ⟨G, f⟩ in float64 around a base point, one array perturbed at a time.

    arrays: the inputs (floating ones as float64) and parameter values; upstream: G
    as float64; copy_inputs: pass every evaluation fresh copies (needed when the
    forward writes into its inputs).
    """

    def __init__(self, target, arrays: Sequence[np.ndarray], upstream: np.ndarray, copy_inputs: bool):
        self._target = target
        self._arrays = list(arrays)
        self._upstream = upstream
        self._copy_inputs = copy_inputs

    def point(self, position: int) -> np.ndarray:
        return self._arrays[position]

    def steps(self, position: int) -> np.ndarray:
        return coordinate_steps(self._arrays[position])

    def at(self, position: int, value: np.ndarray) -> float:
        """φ with the array at ``position`` replaced by ``value``."""
        arrays = list(self._arrays)
        arrays[position] = value
        if self._copy_inputs:
            arrays = [a.copy() for a in arrays]
        out = self._target.evaluate(arrays)
        if out.shape != self._upstream.shape:
            raise RuntimeError(f"gradcheck: the output changed shape from {self._upstream.shape} to {out.shape} "
                               f"under a small change of {self._target.names[position]}")
        return float(np.sum(self._upstream * out))

    def along_coordinate(self, position: int, flat: int, offsets: Sequence[float]) -> np.ndarray:
        """φ at x_i + o·h_i for each offset o (in steps)."""
        work = self._arrays[position].copy()
        x_i = float(work.flat[flat])
        h = COORDINATE_STEP * max(1.0, abs(x_i))
        values = np.empty(len(offsets))
        for k, offset in enumerate(offsets):
            work.flat[flat] = x_i + offset * h
            values[k] = self.at(position, work)
        return values

    def along_direction(self, position: int, direction: np.ndarray, offsets: Sequence[float]) -> np.ndarray:
        """φ at x + o·DIRECTION_STEP·direction for each offset o."""
        x = self._arrays[position]
        return np.array([self.at(position, x + offset * DIRECTION_STEP * direction) for offset in offsets])

    def gradient(self, position: int, flats: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Five-point estimates of ∂φ/∂x_i at ``flats`` (default: every element), and the
        φ samples behind each (one row of four per element)."""
        x = self._arrays[position]
        flats = range(x.size) if flats is None else flats
        samples = np.array([self.along_coordinate(position, i, STENCIL) for i in flats]).reshape(-1, 4)
        steps = self.steps(position).ravel()[list(flats)]
        estimates = (samples[:, 0] - 8 * samples[:, 1] + 8 * samples[:, 2] - samples[:, 3]) / (12 * steps)
        return estimates, samples

    def noise(self, position: int, flat: int, samples: np.ndarray) -> float:
        """How far the estimate at element ``flat`` (from its four ``samples``) can be off.

        Truncation: the difference from the stencil at 2h. Noise in φ itself (a forward
        that rounds through float32, say): its fourth differences on a fine grid cancel
        any cubic, so what is left is noise, of variance 70σ²; five-point multiplies σ
        by √130/12h. Counted at NOISE_SIGMAS standard deviations.
        """
        h = float(self.steps(position).flat[flat])
        wide = self.along_coordinate(position, flat, WIDE_STENCIL)
        truncation = abs(five_point(samples, h) - five_point((wide[0], samples[0], samples[3], wide[1]), 2 * h))
        fourth_differences = np.diff(self.along_coordinate(position, flat, FINE_GRID), 4)
        sigma = np.sqrt(np.mean(fourth_differences**2) / 70)
        return truncation + NOISE_SIGMAS * sigma * np.sqrt(130) / (12 * h) + rounding_error(samples, h)


def numerical_jacobian(target, arrays: Sequence[np.ndarray], position: int) -> np.ndarray:
    """d f / d x for the array at ``position``: (output elements, input elements), five-point."""
    arrays = list(arrays)
    x = arrays[position]
    columns = []
    for flat in range(x.size):
        h = COORDINATE_STEP * max(1.0, abs(float(x.flat[flat])))
        outputs = []
        for offset in STENCIL:
            work = x.copy()
            work.flat[flat] += offset * h
            arrays[position] = work
            outputs.append(target.evaluate([a.copy() for a in arrays]).astype(np.float64).ravel())
        columns.append(five_point(outputs, h))
    arrays[position] = x
    if columns:
        return np.stack(columns, axis=1)
    return np.zeros((target.evaluate(arrays).size, 0))
