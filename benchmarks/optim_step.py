"""Optimizer step time: chainrule against torch.optim and a naive NumPy update, on this CPU.

    python benchmarks/optim_step.py [--reps 15] [--steps 200] [--threads N]

The parameters are those of the 784-512-512-10 MLP (669,706 float32 values in six
arrays), every one with a gradient. Prints, per optimizer, the median microseconds
of one ``step()`` over ``--reps`` timed repetitions of ``--steps`` steps, the
implementations interleaved in one process so that they share the machine's state:

- chainrule: ``optim.SGD(momentum=0.9)`` / ``optim.Adam``;
- torch: ``torch.optim.SGD(momentum=0.9)`` / ``torch.optim.Adam`` with default
  options (the per-tensor loop on CPU), and with ``foreach=True``;
- naive NumPy, SGD only: ``buf = μ·buf + g; θ -= η·buf`` written the obvious way,
  allocating two temporaries per parameter per step.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--reps", type=int, default=15, help="timed repetitions (median reported)")
parser.add_argument("--steps", type=int, default=200, help="optimizer steps per repetition")
parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for PyTorch")
args = parser.parse_args()

import numpy as np  # noqa: E402
import torch  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import optim  # noqa: E402

torch.set_num_threads(args.threads)
SHAPES = [(512, 784), (512,), (512, 512), (512,), (10, 512), (10,)]
LR, MOMENTUM = 0.05, 0.9


def arrays(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    # Small values so that thousands of steps stay finite and every step costs the same.
    return [(rng.standard_normal(shape) * 1e-3).astype(np.float32) for shape in SHAPES]


def chainrule_step(make):
    params = [cr.Tensor(a, requires_grad=True) for a in arrays(0)]
    for p, g in zip(params, arrays(1)):
        p.grad = g
    return make(params).step


def torch_step(make):
    params = [torch.nn.Parameter(torch.from_numpy(a)) for a in arrays(0)]
    for p, g in zip(params, arrays(1)):
        p.grad = torch.from_numpy(g)
    return make(params).step


def naive_sgd_step():
    params, grads = arrays(0), arrays(1)
    buffers = [None] * len(params)

    def step():
        for i, (param, grad) in enumerate(zip(params, grads)):
            buffers[i] = grad.copy() if buffers[i] is None else MOMENTUM * buffers[i] + grad
            param -= LR * buffers[i]

    return step


def median_microseconds(steps: dict) -> dict:
    times = {name: [] for name in steps}
    for step in steps.values():
        for _ in range(10):
            step()
    for _ in range(args.reps):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[name].append((time.perf_counter() - start) / args.steps * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


def report(title: str, steps: dict) -> None:
    results = median_microseconds(steps)
    reference = results["torch"]
    print(f"\n{title}   (median µs per step; ratio = time / torch time)")
    for name, micros in results.items():
        print(f"  {name:<16}{micros:9.1f} µs   {micros / reference:5.2f}×")


print(f"{sum(int(np.prod(s)) for s in SHAPES):,} float32 parameters in {len(SHAPES)} arrays; "
      f"torch {torch.__version__} with {torch.get_num_threads()} threads; NumPy {np.__version__}")
report("SGD, momentum 0.9", {
    "chainrule": chainrule_step(lambda ps: optim.SGD(ps, lr=LR, momentum=MOMENTUM)),
    "torch": torch_step(lambda ps: torch.optim.SGD(ps, lr=LR, momentum=MOMENTUM)),
    "torch foreach": torch_step(lambda ps: torch.optim.SGD(ps, lr=LR, momentum=MOMENTUM, foreach=True)),
    "naive NumPy": naive_sgd_step(),
})
report("Adam", {
    "chainrule": chainrule_step(lambda ps: optim.Adam(ps, lr=1e-3)),
    "torch": torch_step(lambda ps: torch.optim.Adam(ps, lr=1e-3)),
    "torch foreach": torch_step(lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=True)),
})
