"""python -m benchmarks.distributed: data-parallel scaling of the mlp workload, chainrule
(DistributedDataParallel on MPI) against PyTorch (DistributedDataParallel on gloo), measured
in the same run, interleaved rank count by rank count and repetition by repetition.

Each job trains --steps steps of the mlp workload at a global batch of 128 split over N ranks
(benchmarks/distributed_worker.py), with cores // N BLAS threads per rank. Reported: seconds per
468-step epoch (median, min–max), speed-up over one rank, and scaling efficiency
T₁ / (N·T_N), where T₁ is the same framework's one-rank time. With --buckets, chainrule also
runs with one all-reduce per parameter (bucket_mb=0) to measure what bucketing saves.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from chainrule.distributed import launch

from .machine import busy_warning, cpu_name, load_average, openblas_avx512_override, thread_environment
from .stats import Spread

ROOT = Path(__file__).resolve().parents[1]
EPOCH_STEPS = 468


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--frameworks", nargs="+", choices=("chainrule", "torch"), default=["chainrule", "torch"])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=EPOCH_STEPS)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--buckets", action="store_true", help="also chainrule with one all-reduce per parameter")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "distributed.json")
    return parser.parse_args()


def one_job(framework: str, ranks: int, steps: int, cores: int, bucket_mb: float, blas_core: str | None) -> float:
    """Seconds per epoch of one job."""
    with tempfile.TemporaryDirectory() as scratch:
        result = Path(scratch) / "result.json"
        program = ["-m", "benchmarks.distributed_worker", "--framework", framework, "--steps", str(steps),
                   "--bucket-mb", str(bucket_mb), "--out", str(result)]
        env = {**launch.environment(ranks, cores), **thread_environment(max(1, cores // ranks)),
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               **({"OPENBLAS_CORETYPE": blas_core} if blas_core else {})}
        if framework == "torch":
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}",
                       *program]
        else:
            command = launch.mpiexec_command(ranks, program)
        subprocess.run(command, env=env, cwd=ROOT, check=True, timeout=1800, stdout=subprocess.DEVNULL)
        measured = json.loads(result.read_text())
    return measured["seconds"] * EPOCH_STEPS / measured["steps"]


def main() -> None:
    options = parse_arguments()
    variants = [(framework, 25.0) for framework in options.frameworks]
    if options.buckets and "chainrule" in options.frameworks:
        variants.append(("chainrule", 0.0))
    blas_core = openblas_avx512_override()  # as python -m benchmarks does: NumPy's AVX-512 kernels where they exist
    load_before = load_average()
    times: dict[tuple, list[float]] = {}
    for rep in range(options.reps):
        for ranks in options.ranks:
            for framework, bucket_mb in variants:
                seconds = one_job(framework, ranks, options.steps, options.cores, bucket_mb, blas_core)
                times.setdefault((framework, bucket_mb, ranks), []).append(seconds)
                print(f"rep {rep + 1}: {framework} (bucket_mb={bucket_mb:g}) × {ranks}: {seconds:.3f} s/epoch",
                      flush=True)
                write_report(options, times, blas_core, load_before)  # after every job: a cut-short run keeps its data
    print(table(write_report(options, times, blas_core, load_before)))


def write_report(options, times: dict, blas_core: str | None, load_before: str) -> dict:
    rows = []
    for (framework, bucket_mb, ranks), values in times.items():
        single = times.get((framework, bucket_mb, 1))
        spread = Spread.of(values)
        row = {"framework": framework, "bucket_mb": bucket_mb, "ranks": ranks, "seconds_per_epoch": values,
               "median": spread.median, "min": spread.low, "max": spread.high}
        if single:
            t1 = Spread.of(single).median
            row["speedup"] = t1 / spread.median
            row["efficiency"] = t1 / (ranks * spread.median)
        rows.append(row)
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "cpu": cpu_name(), "cores": options.cores, "load_average_before": load_before,
              "load_average_after": load_average(), "steps": options.steps, "reps": options.reps,
              "openblas_coretype": blas_core, "busy_at_end": busy_warning(), "rows": rows}
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(report, indent=1))
    return report


def table(report: dict) -> str:
    lines = [f"{report['cpu']}, {report['cores']} cores, load {report['load_average_before']} → "
             f"{report['load_average_after']}, {report['reps']} reps",
             *([report["busy_at_end"]] if report.get("busy_at_end") else []),
             "framework            ranks  s/epoch (min–max)        speed-up  efficiency"]
    for row in sorted(report["rows"], key=lambda r: (r["framework"], -r["bucket_mb"], r["ranks"])):
        name = row["framework"] + ("" if row["bucket_mb"] else " (per-tensor)")
        spread = f"{row['median']:.3f} ({row['min']:.3f}–{row['max']:.3f})"
        lines.append(f"{name:<20} {row['ranks']:>5}  {spread:<24} {row.get('speedup', float('nan')):>7.2f}×  "
                     f"{row.get('efficiency', float('nan')):>9.0%}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
