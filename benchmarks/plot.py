"""The sweep as a PNG: milliseconds per step against batch size and against width."""
from __future__ import annotations

from pathlib import Path

from .stats import Spread


def _series(runs: list[dict], axis: str, fixed: tuple[str, int]) -> tuple[list[int], list[float], list[float], list[float]]:
    """x values, and the median, min and max milliseconds of the points where ``fixed`` holds."""
    key, value = fixed
    xs, medians, lows, highs = [], [], [], []
    chosen = [(point[axis], index) for index, point in enumerate(runs[0]["points"]) if point[key] == value]
    for _, index in sorted(chosen):
        point = runs[0]["points"][index]
        spread = Spread.of(run["points"][index]["seconds"] * 1e3 for run in runs)
        xs.append(point[axis])
        medians.append(spread.median)
        lows.append(spread.low)
        highs.append(spread.high)
    return xs, medians, lows, highs


def draw_sweep(results: dict[str, list[dict]], path: Path, subtitle: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    panels = [("batch", ("width", 512), "batch size (784-512-512-10)"), ("width", ("batch", 128), "hidden width (batch 128)")]
    for ax, (axis, fixed, label) in zip(axes, panels):
        for name, runs in results.items():
            xs, medians, lows, highs = _series(runs, axis, fixed)
            line, = ax.plot(xs, medians, marker="o", label=name)
            ax.fill_between(xs, lows, highs, color=line.get_color(), alpha=0.2)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("ms per training step")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    figure.suptitle(f"Training step time, float32 SGD-momentum MLP — {subtitle}", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
