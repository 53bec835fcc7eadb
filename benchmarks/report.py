"""Markdown tables of the results, with ratios against PyTorch."""
from __future__ import annotations

from .stats import Spread, paired_ratios
from .workloads import MLP, MLP_STEPS_PER_EPOCH, training_products

REFERENCE = "torch"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio(values: list[float], references: list[float] | None, spec: str = ".2f") -> str:
    if references is None:
        return "–"
    return paired_ratios(values, references).format(spec) + "×"


def epoch_seconds(runs: list[dict]) -> list[float]:
    """Seconds per epoch of each run: its total training time over its epochs."""
    return [sum(run["epoch_seconds"]) / len(run["epoch_seconds"]) for run in runs]


def training_rss(runs: list[dict]) -> list[float]:
    """MiB the training added to the process: peak RSS during training minus RSS before it."""
    return [run["peak_rss_mb"] - run["rss_before_mb"] for run in runs]


def mlp_table(results: dict[str, list[dict]]) -> str:
    reference = results.get(REFERENCE)
    rows = []
    for name, runs in results.items():
        seconds = epoch_seconds(runs)
        peak = [run["peak_rss_mb"] for run in runs]
        added = training_rss(runs)
        accuracy = Spread.of(100 * run["accuracy"] for run in runs)
        rows.append([
            name,
            Spread.of(seconds).format(".3f"),
            _ratio(seconds, epoch_seconds(reference) if reference else None),
            f"{accuracy.median:.2f}",
            Spread.of(peak).format(".0f"),
            Spread.of(added).format(".1f"),
            _ratio(added, training_rss(reference) if reference else None),
        ])
    header = ["framework", "s / epoch", "× PyTorch", "test acc. %", "peak RSS MiB", "training RSS MiB", "× PyTorch"]
    return _table(header, rows)


def micro_table(results: dict[str, list[dict]]) -> str:
    reference = results.get(REFERENCE)
    rows = []
    for name, runs in results.items():
        rate = [run["steps_per_second"] for run in runs]
        rows.append([
            name,
            Spread.of(rate).format(",.0f"),
            _ratio(rate, [run["steps_per_second"] for run in reference] if reference else None),
        ])
    return _table(["framework", "steps / s", "× PyTorch"], rows)


def gemm_step_seconds(runs: list[dict]) -> list[float]:
    """Per run: the seconds of one step's matrix products."""
    return [sum(product["seconds"] for product in run["products"]) for run in runs]


def limit_epoch_seconds(results: dict[str, list[dict]]) -> float:
    """The epoch time of the matrix products alone, each product at the best median
    rate any measured BLAS reached."""
    total = 0.0
    for index in range(len(training_products(MLP))):
        total += min(Spread.of(run["products"][index]["seconds"] for run in runs).median for runs in results.values())
    return total * MLP_STEPS_PER_EPOCH


def limit_table(results: dict[str, list[dict]]) -> str:
    names = list(results)
    rows = []
    for index, (m, k, n) in enumerate(training_products(MLP)):
        flops = 2.0 * m * k * n
        cells = []
        for name in names:
            seconds = Spread.of(run["products"][index]["seconds"] for run in results[name])
            cells.append(f"{seconds.median * 1e6:.0f} µs, {flops / seconds.median / 1e9:.0f} GFLOP/s")
        rows.append([f"{m}×{k} · {k}×{n}"] + cells)
    rows.append(["one step"] + [f"{Spread.of(gemm_step_seconds(results[name])).median * 1e3:.3f} ms" for name in names])
    rows.append([f"epoch ({MLP_STEPS_PER_EPOCH} steps)"] + [
        f"{Spread.of(gemm_step_seconds(results[name])).median * MLP_STEPS_PER_EPOCH:.3f} s" for name in names
    ])
    return _table(["product (M×K · K×N)"] + [f"{name} BLAS" for name in names], rows)


def limit_multiples_table(mlp_results: dict[str, list[dict]], gemm_results: dict[str, list[dict]]) -> str:
    """Each framework's mlp epoch as a multiple of the matrix products' epoch time."""
    limit = limit_epoch_seconds(gemm_results)
    rows = [[name, f"{Spread.of(epoch_seconds(runs)).median:.3f}", f"{Spread.of(epoch_seconds(runs)).median / limit:.2f}×"]
            for name, runs in mlp_results.items()]
    rows.append(["matrix products alone (best BLAS per product)", f"{limit:.3f}", "1.00×"])
    return _table(["framework", "s / epoch", "× products alone"], rows)


def sweep_seconds(runs: list[dict], index: int) -> list[float]:
    return [run["points"][index]["seconds"] for run in runs]


def sweep_table(results: dict[str, list[dict]]) -> str:
    names = list(results)
    reference = results.get(REFERENCE)
    points = next(iter(results.values()))[0]["points"]
    rows = []
    for index, point in enumerate(points):
        cells = [f"{Spread.of(sweep_seconds(results[name], index)).median * 1e3:.2f}" for name in names]
        ratios = [
            _ratio(sweep_seconds(results[name], index), sweep_seconds(reference, index) if reference else None)
            for name in names if name != REFERENCE
        ]
        rows.append([str(point["batch"]), str(point["width"])] + cells + ratios)
    header = ["batch", "width"] + [f"{name} ms / step" for name in names]
    header += [f"{name} × PyTorch" for name in names if name != REFERENCE]
    return _table(header, rows)
