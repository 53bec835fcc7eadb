"""Convolution and pooling speed: chainrule against torch.nn.functional on this CPU,
op by op and for a whole training step of a small MNIST CNN.

    python benchmarks/conv_ops.py [--reps 15] [--threads N]

Prints one row per workload (float32): the best-of-reps milliseconds of a forward pass
(no graph) and of a forward + backward pass (input, weight and bias all take
gradients), for chainrule and PyTorch, timed interleaved in one process with the
same number of threads, and their ratio. Two chainrule columns per pass: "nchw"
feeds a plain (N, C, H, W) array, as a first layer gets from the data; "chain"
feeds what a previous convolution produces (an (N, C, H, W) view of (C, H, W, N)
memory) and an upstream gradient in that layout, as an inner layer of a CNN sees.
"""
from __future__ import annotations

import argparse
import os
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--reps", type=int, default=15, help="timed repetitions per measurement (the fastest is reported)")
parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for OpenBLAS and PyTorch alike")
args = parser.parse_args()
# The BLAS reads its thread count when it is loaded: set it before NumPy is imported.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import chainrule as cr  # noqa: E402

torch.set_num_threads(args.threads)
F = torch.nn.functional
rng = np.random.default_rng(0)

# (name, x shape, weight shape, keyword arguments); every convolution has a bias
CONV = [
    ("conv 1→32 28×28 k3 p1", (128, 1, 28, 28), (32, 1, 3, 3), dict(padding=1)),
    ("conv 32→64 14×14 k3 p1", (128, 32, 14, 14), (64, 32, 3, 3), dict(padding=1)),
    ("conv 64→64 7×7 k3 p1", (128, 64, 7, 7), (64, 64, 3, 3), dict(padding=1)),
    ("conv 32→64 28×28 k3 s2 p1", (128, 32, 28, 28), (64, 32, 3, 3), dict(stride=2, padding=1)),
    ("conv 64→128 14×14 k1", (128, 64, 14, 14), (128, 64, 1, 1), {}),
    ("depthwise 64 16×16 k3 p1", (32, 64, 16, 16), (64, 1, 3, 3), dict(padding=1, groups=64)),
]
# (name, x shape, functional name, keyword arguments)
POOL = [
    ("max_pool 2×2 32@28×28", (128, 32, 28, 28), "max_pool2d", dict(kernel_size=2)),
    ("max_pool 3×3 s2 p1 64@14×14", (128, 64, 14, 14), "max_pool2d", dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool 2×2 32@28×28", (128, 32, 28, 28), "avg_pool2d", dict(kernel_size=2)),
]


def batch_last_view(a: np.ndarray) -> np.ndarray:
    """The same values as an (N, C, H, W) view of (C, H, W, N) memory, as conv2d returns."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def workloads():
    """(name, {label: zero-argument callable}) for every row of the table."""
    for name, x_shape, w_shape, kwargs in CONV:
        x = rng.standard_normal(x_shape, dtype=np.float32)
        w = (rng.standard_normal(w_shape, dtype=np.float32) * 0.1).astype(np.float32)
        b = rng.standard_normal(w_shape[0], dtype=np.float32)
        dy = rng.standard_normal(F.conv2d(torch.from_numpy(x), torch.from_numpy(w), **kwargs).shape, dtype=np.float32)
        yield name, runners(lambda *t, k=kwargs: cr.conv2d(*t, **k), lambda *t, k=kwargs: F.conv2d(*t, **k),
                            x, (w, b), dy)
    for name, x_shape, op, kwargs in POOL:
        x = rng.standard_normal(x_shape, dtype=np.float32)
        dy = rng.standard_normal(getattr(F, op)(torch.from_numpy(x), **kwargs).shape, dtype=np.float32)
        yield name, runners(lambda t, o=op, k=kwargs: getattr(cr, o)(t, **k),
                            lambda t, o=op, k=kwargs: getattr(F, o)(t, **k), x, (), dy)


def runners(ours, theirs, x, params, dy):
    def ours_forward(x_array):
        def run():
            with cr.no_grad():
                ours(cr.Tensor(x_array), *[cr.Tensor(p) for p in params])
        return run

    def ours_step(x_array, dy_array):
        def run():
            tensors = [cr.Tensor(a, requires_grad=True) for a in (x_array, *params)]
            ours(*tensors).backward(dy_array)
        return run

    torch_x, torch_params, torch_dy = torch.from_numpy(x), [torch.from_numpy(p) for p in params], torch.from_numpy(dy)

    def torch_forward():
        with torch.no_grad():
            theirs(torch_x, *torch_params)

    def torch_step():
        tensors = [t.clone().requires_grad_(True) for t in (torch_x, *torch_params)]
        theirs(*tensors).backward(torch_dy)

    chained_x, chained_dy = batch_last_view(x), batch_last_view(dy)
    return {
        "fwd nchw": ours_forward(x), "fwd chain": ours_forward(chained_x), "fwd torch": torch_forward,
        "f+b nchw": ours_step(x, dy), "f+b chain": ours_step(chained_x, chained_dy), "f+b torch": torch_step,
    }


def best_ms(functions: dict, reps: int) -> dict:
    """The fastest wall time of each function in ms, the functions interleaved rep by rep
    (the minimum, not the median: it is the figure least disturbed by other processes)."""
    times = {label: [] for label in functions}
    for function in functions.values():
        function()
    for _ in range(reps):
        for label, function in functions.items():
            start = time.perf_counter()
            function()
            times[label].append(time.perf_counter() - start)
    return {label: 1e3 * min(t) for label, t in times.items()}


def cnn_step_runners(batch: int = 128) -> dict:
    """One training step (forward, cross-entropy, backward) of a small MNIST CNN, and
    its evaluation forward pass, in both libraries with the same weights."""
    def layers(nn):
        return [nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(64 * 7 * 7, 10)]

    ours, theirs = cr.nn.Sequential(*layers(cr.nn)), torch.nn.Sequential(*layers(torch.nn))
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((batch, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, batch)
    torch_x, torch_labels = torch.from_numpy(x), torch.from_numpy(labels)
    loss, torch_loss = cr.nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()

    def ours_forward():
        with cr.no_grad():
            ours(cr.Tensor(x))

    def torch_forward():
        with torch.no_grad():
            theirs(torch_x)

    def ours_step():
        ours.zero_grad()
        loss(ours(cr.Tensor(x)), labels).backward()

    def torch_step():
        theirs.zero_grad()
        torch_loss(theirs(torch_x), torch_labels).backward()

    return {"fwd": ours_forward, "fwd torch": torch_forward, "f+b": ours_step, "f+b torch": torch_step}


def main() -> None:
    print(f"float32, {args.threads} threads for OpenBLAS and PyTorch {torch.__version__}, "
          f"NumPy {np.__version__}, best of {args.reps}; times in ms; ratio = chainrule chain / torch")
    header = (f"{'workload':30} {'fwd nchw':>9} {'fwd chain':>9} {'fwd torch':>9} {'ratio':>6} │ "
              f"{'f+b nchw':>9} {'f+b chain':>9} {'f+b torch':>9} {'ratio':>6}")
    print(header)
    print("─" * len(header))
    for name, functions in workloads():
        ms = best_ms(functions, args.reps)
        print(f"{name:30} {ms['fwd nchw']:9.2f} {ms['fwd chain']:9.2f} {ms['fwd torch']:9.2f} "
              f"{ms['fwd chain'] / ms['fwd torch']:6.2f} │ {ms['f+b nchw']:9.2f} {ms['f+b chain']:9.2f} "
              f"{ms['f+b torch']:9.2f} {ms['f+b chain'] / ms['f+b torch']:6.2f}")
    ms = best_ms(cnn_step_runners(), args.reps)
    print(f"\nMNIST CNN (conv 1→32, relu, pool, conv 32→64, relu, pool, linear), N=128: "
          f"eval forward {ms['fwd']:.1f} vs torch {ms['fwd torch']:.1f} ms ({ms['fwd'] / ms['fwd torch']:.2f}×), "
          f"training step {ms['f+b']:.1f} vs torch {ms['f+b torch']:.1f} ms ({ms['f+b'] / ms['f+b torch']:.2f}×)")


if __name__ == "__main__":
    main()
