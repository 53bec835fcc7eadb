"""Run a measurement for several frameworks, one subprocess per framework and
repetition, interleaved: A B A B ..., so that a slow spell of the machine falls on
every framework alike."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .machine import thread_environment

ROOT = Path(__file__).resolve().parent.parent


class WorkerFailed(RuntimeError):
    """A worker subprocess exited with an error; the message carries its stderr."""


def run_worker(arguments: dict, threads: int, extra_env: dict[str, str]) -> dict:
    """Run one job in a fresh subprocess and return its JSON result."""
    env = {**os.environ, **thread_environment(threads), **extra_env}
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", json.dumps(arguments)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    if completed.returncode != 0:
        raise WorkerFailed(f"{arguments['job']} on {arguments['framework']} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def interleaved(job: str, frameworks: list[str], reps: int, threads: int,
                extra_env: dict[str, str], **options) -> dict[str, list[dict]]:
    """``reps`` results per framework, the runs alternating between frameworks."""
    results: dict[str, list[dict]] = {name: [] for name in frameworks}
    for rep in range(reps):
        for name in frameworks:
            print(f"  {job} {rep + 1}/{reps} {name}", end="\r", file=sys.stderr, flush=True)
            arguments = {"job": job, "framework": name, "threads": threads, **options}
            results[name].append(run_worker(arguments, threads, extra_env))
    print(" " * 60, end="\r", file=sys.stderr, flush=True)
    return results
