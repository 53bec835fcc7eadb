"""python -m benchmarks: chainrule against PyTorch eager, PyTorch with torch.compile, and JAX (jit,
when installed), each written as its documentation recommends, on this CPU.

Tasks (all by default):
  mlp    Fashion-MNIST, 784-512-512-10 ReLU, batch 128, SGD lr 0.05 momentum 0.9, float32:
         seconds per epoch (468 steps, data loading excluded), test accuracy, peak RSS
  micro  784-64-10 at batch size 1, lr 5e-4: steps per second after a warm-up
  sweep  time per step over batch sizes 32…1024 and widths 128…2048 (JSON and PNG)
  limit  the float32 GEMM rate at the mlp's shapes, and the epoch time of the
         matrix products alone
  cnn    the cnn recipe (conv-BN-ReLU-pool ×2, 128-unit classifier) on Fashion-MNIST,
         batch 128: seconds per epoch, test accuracy, peak RSS; conv2d and max_pool2d
         forward and backward alone; where a training step's time goes, op by op
  lstm   the charlm recipe's LSTM (64→256) on fortunes, batch 32 × 128 characters, Adam:
         characters per second and training RSS
  transformer  the charlm recipe's small GPT (2 causal blocks of 128, 4 heads), likewise
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path

from . import charlm, cnn, machine, report, runner, workloads
from .plot import draw_sweep
from .trainers import FRAMEWORKS, REFERENCE_ONLY, available

TASKS = ("mlp", "micro", "sweep", "limit", "cnn", "lstm", "transformer")
QUICK_SWEEP = [(32, 512), (128, 512), (1024, 512), (128, 128), (128, 2048)]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=os.environ.get("CHAINRULE_BENCH_PROG", "python -m benchmarks"),
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tasks", nargs="*", metavar="TASK",
                        help=f"any of {', '.join(TASKS)} (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="2 repetitions, 1 mlp epoch, 1,000 micro steps, 5 sweep points: a smoke run")
    parser.add_argument("--reps", type=int, help="repetitions per framework (default 5, 3 for the sweep; 2 with --quick)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads for every BLAS and OpenMP runtime (default: all cores)")
    parser.add_argument("--frameworks", nargs="+", choices=list(FRAMEWORKS),
                        help="default: chainrule, torch, torch-compile (torch.compile), the plain NumPy loop, and "
                             "jax when installed (the lstm, transformer and cnn tasks: chainrule and torch); "
                             "numpy-lean and chainrule-by-hand (the floors of the micro workload) and chainrule-fused "
                             "(nn.Fused) only by name")
    parser.add_argument("--openblas-core", metavar="NAME", default="auto",
                        help="OPENBLAS_CORETYPE for every worker (NumPy's GEMM kernels): 'auto' (default) sets "
                             "SkylakeX on an AVX-512 CPU where OpenBLAS picked AVX2 kernels, 'none' leaves "
                             "OpenBLAS to choose, any other value is passed on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=runner.ROOT / "benchmarks" / "results",
                        help="folder for results.json, sweep.json and report.md")
    parser.add_argument("--plot", type=Path, default=runner.ROOT / "docs" / "images" / "sweep.png",
                        help="where the sweep PNG goes")
    arguments = parser.parse_args()
    unknown = [task for task in arguments.tasks if task not in TASKS]
    if unknown:
        parser.error(f"unknown task {unknown[0]!r}: choose from {', '.join(TASKS)}")
    arguments.tasks = arguments.tasks or list(TASKS)
    return arguments


def openblas_core_setting(option: str) -> str | None:
    """The OPENBLAS_CORETYPE the workers get, from the --openblas-core option."""
    if option == "none":
        return None
    if option == "auto":
        return machine.openblas_avx512_override()
    return option


def blas_kernels(core: str | None) -> str:
    chosen = machine.openblas_core()
    if core is None:
        return f"{chosen} kernels, as OpenBLAS chose them for this CPU"
    return (f"OPENBLAS_CORETYPE={core} for every worker (left alone, OpenBLAS picks {chosen} kernels "
            f"on this CPU; --openblas-core none measures those)")


def header(arguments: argparse.Namespace, frameworks: list[str], core: str | None) -> str:
    lines = [
        f"{datetime.datetime.now():%Y-%m-%d %H:%M}, {machine.cpu_name()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        f"threads: {arguments.threads} for every framework ({', '.join(machine.THREAD_VARIABLES)}, "
        f"torch.set_num_threads)",
        f"NumPy's OpenBLAS: {blas_kernels(core)}",
        f"frameworks: {', '.join(frameworks)}; load average at start: {machine.load_average()}",
    ]
    return "\n".join(lines)


def describe_frameworks(results: dict) -> str:
    """Version, BLAS and threads of each framework, as its worker reported them."""
    described = {}
    for task_results in results.values():
        for name, runs in task_results.items():
            described.setdefault(name, runs[0]["describe"])
    return "\n".join(f"- {name} {info['version']}: BLAS {info['blas']}, {info['threads']} threads"
                     for name, info in described.items())


def main() -> None:
    arguments = parse_arguments()
    frameworks = arguments.frameworks or [name for name in FRAMEWORKS if name not in REFERENCE_ONLY and available(name)]
    reps = arguments.reps or (2 if arguments.quick else 5)
    core = openblas_core_setting(arguments.openblas_core)
    extra_env = {"OPENBLAS_CORETYPE": core} if core else {}
    common = dict(reps=reps, threads=arguments.threads, extra_env=extra_env, seed=arguments.seed)
    sections = [header(arguments, frameworks, core)]
    busy = machine.busy_warning()
    if busy:
        sections[0] += f"\n{busy}"
    print(sections[0], flush=True)
    results = {}

    def section(title: str, table: str) -> None:
        sections.append(f"### {title}\n\n{table}")
        print(f"\n{sections[-1]}", flush=True)

    if "mlp" in arguments.tasks:
        epochs = 1 if arguments.quick else workloads.MLP_EPOCHS
        results["mlp"] = runner.interleaved("mlp", frameworks, epochs=epochs, **common)
        section(f"mlp: Fashion-MNIST 784-512-512-10, batch 128, {epochs} epoch(s), {reps} runs each", report.mlp_table(results["mlp"]))
    if "micro" in arguments.tasks:
        steps, warmup = (1000, 100) if arguments.quick else (workloads.MICRO_STEPS, workloads.MICRO_WARMUP)
        results["micro"] = runner.interleaved("micro", frameworks, steps=steps, warmup=warmup, **common)
        section(f"micro: 784-64-10, batch 1, {steps:,} timed steps after {warmup} warm-up, {reps} runs each",
                report.micro_table(results["micro"]))
    if "sweep" in arguments.tasks:
        points = QUICK_SWEEP if arguments.quick else workloads.sweep_points()
        sweep_reps = arguments.reps or (2 if arguments.quick else 3)
        budget = 0.05 if arguments.quick else 0.3
        # torch.compile would compile anew at each of the sweep's shapes, 20 s or more each.
        sweep_frameworks = [name for name in frameworks if name not in ("numpy", "torch-compile")]
        results["sweep"] = runner.interleaved("sweep", sweep_frameworks, points=points, budget=budget,
                                              **{**common, "reps": sweep_reps})
        section(f"sweep: 784-W-W-10, median ms per step of {sweep_reps} runs", report.sweep_table(results["sweep"]))
        arguments.out.mkdir(parents=True, exist_ok=True)
        (arguments.out / "sweep.json").write_text(json.dumps(results["sweep"], indent=1))
        draw_sweep(results["sweep"], arguments.plot, f"{machine.cpu_name()}, {arguments.threads} threads")
        print(f"\nsweep plot: {arguments.plot}")
    if "limit" in arguments.tasks:
        gemm_frameworks = ["numpy"] + (["torch"] if "torch" in frameworks else [])
        results["limit"] = runner.interleaved("gemm", gemm_frameworks, shapes=workloads.training_products(workloads.MLP),
                                              timings=15, **common)
        section("limit: float32 matrix products of one mlp step (best of 15 timings, median of runs)",
                report.limit_table(results["limit"]))
        if "mlp" in results:
            section("mlp epoch as a multiple of its matrix products alone", report.limit_multiples_table(results["mlp"], results["limit"]))
    if "cnn" in arguments.tasks:
        results.update(cnn.run_task(arguments, frameworks, common, section))
    for arch in charlm.ARCHITECTURES:
        if arch in arguments.tasks:
            results.update(charlm.run_task(arch, arguments, frameworks, common, section))
    busy = machine.busy_warning()
    sections.append(f"frameworks as measured:\n{describe_frameworks(results)}\n\nload average at end: {machine.load_average()}"
                    + (f"\n{busy}" if busy else ""))
    print(f"\n{sections[-1]}")
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "results.json").write_text(json.dumps(results, indent=1))
    (arguments.out / "report.md").write_text("\n\n".join(sections) + "\n")
    print(f"results: {arguments.out / 'results.json'}, {arguments.out / 'report.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
