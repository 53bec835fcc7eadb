"""Medians, ranges and paired ratios of repeated measurements."""
from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """The median and the range of repeated measurements."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values) -> Spread:
        values = list(values)
        return cls(statistics.median(values), min(values), max(values))

    def format(self, spec: str) -> str:
        """``median (low–high)`` with each number formatted by ``spec`` (e.g. ".2f")."""
        return f"{self.median:{spec}} ({self.low:{spec}}–{self.high:{spec}})"


def paired_ratios(values, references) -> Spread:
    """The ratio value/reference within each repetition, summarised over repetitions.

    Pairing by repetition cancels most of a noisy machine's drift: the two runs of a
    pair were measured back to back.
    """
    return Spread.of(value / reference for value, reference in zip(values, references))
