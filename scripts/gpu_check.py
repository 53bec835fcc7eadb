"""The GPU check of issue #16, in one process: every op case on the GPU against the CPU
(float64), the mlp and cnn recipes trained on both, and chainrule-CuPy against PyTorch
CUDA eager on the benchmark workloads. Writes one JSON report.

    python scripts/gpu_check.py OUT.json [--data DIR] [--commit SHA] [--device cuda]

``--device standin`` runs the same check on the CPU stand-in (tests/standin.py), without a
GPU and without the PyTorch comparison: a dry run of the script itself.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

import chainrule as cr  # noqa: E402
from chainrule import nn, optim  # noqa: E402


def synchronize(device: str) -> None:
    if device == "cuda":
        import cupy

        cupy.cuda.Device().synchronize()


def check_op_cases(device: str) -> dict:
    from device_check import compare
    from op_cases import CASES

    failures, started = [], time.perf_counter()
    for order in (1, 2):  # first order, then second (create_graph=True through every op's backward_graph)
        for case in CASES:
            try:
                compare(case, device, rtol=1e-9, order=order)
            except Exception as error:  # noqa: BLE001 - every failure is reported, none stops the check
                failures.append({"case": str(case), "op": case.op, "order": order,
                                 "error": f"{type(error).__name__}: {error}"[:400]})
    return {"cases": 2 * len(CASES), "passed": 2 * len(CASES) - len(failures), "failures": failures,
            "ops": len({c.op for c in CASES}), "seconds": round(time.perf_counter() - started, 1)}


def check_gpu_kernels() -> dict:
    """gpu_kernels.sgd and relu_backward against the array-module code they replace: the same bits."""
    import cupy

    from chainrule import gpu_kernels

    rng = np.random.default_rng(3)
    results = {}
    for dtype in (np.float32, np.float64):
        for options in ({"momentum": 0.0}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-2},
                        {"momentum": 0.8, "dampening": 0.3, "maximize": True}):
            start = cupy.asarray(rng.standard_normal(1000).astype(dtype))
            tensors = {}
            for fused in (None, False):
                p = cr.Tensor(start.copy(), requires_grad=True)
                optimizer = optim.SGD([p], lr=0.05, fused=fused, **options)
                grads = np.random.default_rng(4)
                for _ in range(3):  # the gradient of Σ p·g is g
                    g = cr.Tensor(cupy.asarray(grads.standard_normal(1000).astype(dtype)))
                    optimizer.zero_grad()
                    (p * g).sum().backward()
                    optimizer.step()
                tensors[fused] = cupy.asnumpy(p.data)
            key = f"sgd {np.dtype(dtype).name} {options}"
            results[key] = bool(np.array_equal(tensors[None], tensors[False]))
        y = cupy.asarray(rng.standard_normal(1000).astype(dtype))
        dy = cupy.asarray(np.where(rng.random(1000) < 0.01, np.inf, rng.standard_normal(1000)).astype(dtype))
        results[f"relu_backward {np.dtype(dtype).name}"] = bool(np.array_equal(
            cupy.asnumpy(gpu_kernels.relu_backward(y, dy)), cupy.asnumpy(dy * (y > 0)), equal_nan=True))
    return {"all_equal": all(results.values()), "cases": results}


def load_fashion(data: Path):
    from chainrule.data import FashionMNIST

    train = FashionMNIST(root=data, train=True)
    test = FashionMNIST(root=data, train=False)
    as_float = lambda images: (images.reshape(len(images), -1).astype(np.float32) / 255.0)  # noqa: E731
    return as_float(train.images), train.labels.astype(np.int64), as_float(test.images), test.labels.astype(np.int64)


def train_recipe(model_name: str, device: str, fashion, steps: int, batch: int = 128) -> dict:
    from chainrule.train.recipes import build_model

    x_train, y_train, x_test, y_test = fashion
    cr.manual_seed(0)
    model = build_model({"model": model_name, "hidden": [512, 512]}).to(device)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    step = nn.Fused(model, nn.CrossEntropyLoss())
    order = np.random.default_rng(0).permutation(len(y_train))
    started = time.perf_counter()
    model.train()
    for i in range(steps):
        rows = order[(i * batch) % len(order):][:batch]
        loss = step(cr.tensor(x_train[rows], device=device), cr.tensor(y_train[rows], device=device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    synchronize(device)
    seconds = time.perf_counter() - started
    model.eval()
    correct = 0
    with cr.no_grad():
        for start in range(0, len(y_test), 1000):
            logits = model(cr.tensor(x_test[start:start + 1000], device=device))
            correct += int((logits.numpy().argmax(axis=1) == y_test[start:start + 1000]).sum())
    return {"steps": steps, "accuracy": 100.0 * correct / len(y_test), "final_loss": float(loss.item()),
            "train_seconds": round(seconds, 2)}


# -- benchmarks: the same weights and batches, data already on the device ---------------------
def _mlp_weights(sizes, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return layers


def _chainrule_loop(model, batches: list, steps: int, lr: float, device: str):
    """A run of ``steps`` SGD-momentum steps of ``model`` with cross-entropy, one node per step."""
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    step = nn.Fused(model, nn.CrossEntropyLoss())

    def run():
        for i in range(steps):
            loss = step(*batches[i % len(batches)])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        synchronize(device)
    return run


def _torch_loop(model, batches: list, steps: int, lr: float, device: str):
    """The same run in PyTorch, as its documentation writes a training loop."""
    import torch

    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def run():
        for i in range(steps):
            x, y = batches[i % len(batches)]
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()
    return run


def _batches(batch: int, features: int, classes: int, count: int):
    rng = np.random.default_rng(1)
    return rng.random((count, batch, features), dtype=np.float32), rng.integers(0, classes, (count, batch))


def chainrule_mlp_run(sizes, batch, steps, lr, device="cuda"):
    layers = []
    for (w, b), last in zip(_mlp_weights(sizes), [False] * (len(sizes) - 2) + [True]):
        linear = nn.Linear(w.shape[1], w.shape[0])
        linear.weight.data[...] = w
        linear.bias.data[...] = b
        layers += [linear] if last else [linear, nn.ReLU()]
    xs, ys = _batches(batch, sizes[0], sizes[-1], 16)
    batches = [(cr.tensor(x, device=device), cr.tensor(y, device=device)) for x, y in zip(xs, ys)]
    return _chainrule_loop(nn.Sequential(*layers).to(device), batches, steps, lr, device)


def torch_mlp_run(sizes, batch, steps, lr, device="cuda"):
    import torch

    layers = []
    for (w, b), last in zip(_mlp_weights(sizes), [False] * (len(sizes) - 2) + [True]):
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear] if last else [linear, torch.nn.ReLU()]
    xs, ys = _batches(batch, sizes[0], sizes[-1], 16)
    batches = [(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)) for x, y in zip(xs, ys)]
    return _torch_loop(torch.nn.Sequential(*layers).to(device), batches, steps, lr, device)


def chainrule_cnn_run(batch, steps, device="cuda"):
    from chainrule.train.recipes import build_model

    cr.manual_seed(0)
    (x,), (y,) = _batches(batch, 784, 10, 1)
    batches = [(cr.tensor(x, device=device), cr.tensor(y, device=device))]
    return _chainrule_loop(build_model({"model": "cnn"}).to(device), batches, steps, 0.05, device)


def torch_cnn_run(batch, steps, device="cuda"):
    import torch
    from torch import nn as tnn

    torch.manual_seed(0)
    model = tnn.Sequential(
        tnn.Unflatten(1, (1, 28, 28)),
        tnn.Conv2d(1, 32, 3, padding=1), tnn.BatchNorm2d(32), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(32, 64, 3, padding=1), tnn.BatchNorm2d(64), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), tnn.Linear(64 * 49, 128), tnn.ReLU(), tnn.Dropout(0.25), tnn.Linear(128, 10))
    (x,), (y,) = _batches(batch, 784, 10, 1)
    batches = [(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))]
    return _torch_loop(model.to(device), batches, steps, 0.05, device)


WORKLOADS = {
    # name: (chainrule runner, torch runner, what one run is)
    "mlp_epoch": (lambda: chainrule_mlp_run((784, 512, 512, 10), 128, 468, 0.05),
                  lambda: torch_mlp_run((784, 512, 512, 10), 128, 468, 0.05), "468 steps, 784-512-512-10, batch 128"),
    "wide_mlp": (lambda: chainrule_mlp_run((784, 4096, 4096, 10), 1024, 100, 0.05),
                 lambda: torch_mlp_run((784, 4096, 4096, 10), 1024, 100, 0.05), "100 steps, 784-4096-4096-10, batch 1024"),
    "cnn_epoch": (lambda: chainrule_cnn_run(128, 468), lambda: torch_cnn_run(128, 468),
                  "468 steps of the cnn recipe, batch 128"),
    "micro": (lambda: chainrule_mlp_run((784, 64, 10), 1, 2000, 5e-4),
              lambda: torch_mlp_run((784, 64, 10), 1, 2000, 5e-4), "2000 steps, 784-64-10, batch 1"),
}


def benchmark(reps: int) -> dict:
    results = {}
    for name, (ours, theirs, what) in WORKLOADS.items():
        runs = {"chainrule": ours(), "torch": theirs()}
        for run in runs.values():
            run()  # warm-up: CuPy compiles its kernels, cuBLAS picks its algorithms
        times = {key: [] for key in runs}
        for _ in range(reps):  # interleaved
            for key, run in runs.items():
                started = time.perf_counter()
                run()
                times[key].append(time.perf_counter() - started)
        ratios = [c / t for c, t in zip(times["chainrule"], times["torch"])]
        results[name] = {"what": what, "seconds": {k: [round(v, 4) for v in vs] for k, vs in times.items()},
                         "ratio_median": round(float(np.median(ratios)), 3),
                         "ratio_min": round(min(ratios), 3), "ratio_max": round(max(ratios), 3)}
        print(f"{name}: chainrule/torch {results[name]['ratio_median']} "
              f"({results[name]['ratio_min']}–{results[name]['ratio_max']})", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=None, help="folder with Fashion-MNIST's four .gz files")
    parser.add_argument("--commit", default=os.environ.get("GPU_CHECK_COMMIT", "unknown"))
    parser.add_argument("--device", default="cuda", choices=["cuda", "standin"])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], choices=["ops", "kernels", "train", "bench"])
    args = parser.parse_args()
    if args.device == "standin":
        import standin

        standin.register()
    report = {"commit": args.commit, "device": args.device, "python": platform.python_version(),
              "numpy": np.__version__, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    if args.device == "cuda":
        import cupy

        report["cupy"] = cupy.__version__
        report["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    sections = [("ops", lambda: check_op_cases(args.device))]
    if args.device == "cuda":
        sections.append(("kernels", check_gpu_kernels))
    if args.data is not None:
        fashion = load_fashion(args.data)
        sections.append(("train", lambda: {
            name: {"gpu": train_recipe(name, args.device, fashion, args.steps),
                   "cpu": train_recipe(name, "cpu", fashion, args.steps)} for name in ("mlp", "cnn")}))
    if args.device == "cuda":
        import torch

        report["torch"] = torch.__version__
        sections.append(("bench", lambda: benchmark(args.reps)))
    for name, run in sections:
        if name in args.skip:
            continue
        started = time.perf_counter()
        try:
            report[name] = run()
        except Exception:  # noqa: BLE001 - the report says what failed; the other sections still run
            report[name] = {"error": traceback.format_exc()[-3000:]}
        print(f"{name}: done in {time.perf_counter() - started:.1f} s", flush=True)
        args.out.write_text(json.dumps(report, indent=1))
    summary = report.get("ops", {})
    print(f"op cases: {summary.get('passed')} of {summary.get('cases')} agree", flush=True)
    kernels_ok = report.get("kernels", {}).get("all_equal", True)
    print(f"gpu kernels equal to the array-module path: {kernels_ok}", flush=True)
    return 0 if not summary.get("failures") and kernels_ok else 1


if __name__ == "__main__":
    sys.exit(main())
