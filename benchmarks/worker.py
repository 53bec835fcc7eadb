"""Run one measurement in this process and print its result as one JSON line.

    python -m benchmarks.worker '{"job": "mlp", "framework": "torch", ...}'

The runner starts one worker per framework and repetition, with the thread
variables already in its environment, so each measurement has a fresh process:
its own peak RSS, and no other framework's thread pool spinning beside it.
"""
from __future__ import annotations

import json
import sys

from .jobs import JOBS


def main() -> None:
    arguments = json.loads(sys.argv[1])
    job = JOBS[arguments.pop("job")]
    print(json.dumps(job(**arguments)))


if __name__ == "__main__":
    main()
