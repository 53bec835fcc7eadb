"""conv2d and max_pool2d alone, forward and backward, at the shapes of the cnn workload
and a few more: the per-op part of ``python -m benchmarks cnn``.

One worker times one framework (the runner interleaves them, each in its own process
with the same threads). Each op gets the inputs it meets in a CNN: an inner layer's
input takes a gradient and, in chainrule, is an (N, C, H, W) view of (C, H, W, N)
memory, as the previous conv2d returns it; a first layer's input is a plain array
straight from the data and takes no gradient (so dx is never computed). chainrule's
upstream gradients come in that batch-last layout too, as the next layer hands them
back. Forward runs with the graph recorded, as in training; backward is timed alone,
after an untimed forward. Each call allocates its outputs afresh, so these times
include page faults that a training loop, reusing its heap, mostly does not pay
(the cnn task's profile shows the ops inside real steps).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy

from .cnn import describe
from .report import _table
from .stats import Spread, paired_ratios

FLOAT = numpy.float32
TIMINGS = 10
"""Timed calls per op and direction in one worker; the fastest is kept."""


@dataclass(frozen=True)
class OpShape:
    """One op at one shape: ``op`` is "conv2d" (every convolution has a bias) or "max_pool2d"."""

    name: str
    op: str
    x_shape: tuple[int, int, int, int]
    weight_shape: tuple[int, int, int, int] | None = None
    options: dict = field(default_factory=dict)
    first_layer: bool = False


OPS = [
    OpShape("conv 1→32 28×28 k3 p1 (cnn, first)", "conv2d", (128, 1, 28, 28), (32, 1, 3, 3), {"padding": 1}, True),
    OpShape("conv 32→64 14×14 k3 p1 (cnn)", "conv2d", (128, 32, 14, 14), (64, 32, 3, 3), {"padding": 1}),
    OpShape("conv 64→64 7×7 k3 p1", "conv2d", (128, 64, 7, 7), (64, 64, 3, 3), {"padding": 1}),
    OpShape("conv 32→64 28×28 k3 s2 p1", "conv2d", (128, 32, 28, 28), (64, 32, 3, 3), {"stride": 2, "padding": 1}),
    OpShape("conv 64→128 14×14 k1", "conv2d", (128, 64, 14, 14), (128, 64, 1, 1)),
    OpShape("max_pool 2×2 32@28×28 (cnn)", "max_pool2d", (128, 32, 28, 28), options={"kernel_size": 2}),
    OpShape("max_pool 2×2 64@14×14 (cnn)", "max_pool2d", (128, 64, 14, 14), options={"kernel_size": 2}),
]


def arrays(shape: OpShape, seed: int) -> tuple[numpy.ndarray, list[numpy.ndarray], numpy.ndarray]:
    """x, the parameters (weight and bias, or none) and an upstream gradient, float32."""
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal(shape.x_shape, dtype=FLOAT)
    params = []
    if shape.weight_shape is not None:
        fan_in = numpy.prod(shape.weight_shape[1:])
        bound = FLOAT(1.0 / numpy.sqrt(fan_in))
        params = [rng.uniform(-bound, bound, shape.weight_shape).astype(FLOAT),
                  rng.uniform(-bound, bound, shape.weight_shape[:1]).astype(FLOAT)]
    out_shape = output_shape(shape)
    return x, params, rng.standard_normal(out_shape, dtype=FLOAT)


def output_shape(shape: OpShape) -> tuple[int, ...]:
    n, c, h, w = shape.x_shape
    if shape.op == "max_pool2d":
        k = shape.options["kernel_size"]
        return n, c, h // k, w // k
    stride, padding = shape.options.get("stride", 1), shape.options.get("padding", 0)
    kernel = shape.weight_shape[2]
    side = (h + 2 * padding - kernel) // stride + 1, (w + 2 * padding - kernel) // stride + 1
    return (n, shape.weight_shape[0], *side)


def batch_last_view(a: numpy.ndarray) -> numpy.ndarray:
    """The same values as an (N, C, H, W) view of (C, H, W, N) memory, as conv2d returns."""
    return numpy.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def best_ms(function, setup=None) -> float:
    """The fastest of TIMINGS calls of function(setup()) in ms (setup untimed), after one warm-up."""
    prepare = setup or (lambda: None)
    function(prepare())
    best = float("inf")
    for _ in range(TIMINGS):
        argument = prepare()
        start = time.perf_counter()
        function(argument)
        best = min(best, time.perf_counter() - start)
    return 1e3 * best


def chainrule_times(shape: OpShape, seed: int) -> tuple[float, float]:
    import chainrule as cr

    x, params, dy = arrays(shape, seed)
    dy = batch_last_view(dy)
    if not shape.first_layer:
        x = batch_last_view(x)
    op = getattr(cr, shape.op)

    def forward(_=None):
        inputs = [cr.Tensor(x, requires_grad=not shape.first_layer)]
        inputs += [cr.Tensor(p, requires_grad=True) for p in params]
        return op(*inputs, **shape.options)

    return best_ms(forward), best_ms(lambda y: y.backward(dy), forward)


def torch_times(shape: OpShape, seed: int) -> tuple[float, float]:
    import torch

    x, params, dy = arrays(shape, seed)
    x = torch.from_numpy(x).requires_grad_(not shape.first_layer)
    params = [torch.from_numpy(p).requires_grad_(True) for p in params]
    dy = torch.from_numpy(dy)
    op = getattr(torch.nn.functional, shape.op)

    def forward(_=None):
        for tensor in (x, *params):
            tensor.grad = None
        return op(x, *params, **shape.options)

    return best_ms(forward), best_ms(lambda y: y.backward(dy), forward)


def op_times(framework: str, threads: int, seed: int) -> dict:
    """Best forward and backward ms of every op in OPS, for one framework."""
    measure = torch_times if framework == "torch" else chainrule_times
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
    ops = []
    for shape in OPS:
        forward, backward = measure(shape, seed)
        ops.append({"name": shape.name, "forward_ms": forward, "backward_ms": backward})
    return {"ops": ops, "describe": describe(framework, threads)}


def _ms(runs: list[dict], index: int, direction: str) -> list[float]:
    return [run["ops"][index][f"{direction}_ms"] for run in runs]


def table(results: dict[str, list[dict]], reference: str = "torch") -> str:
    """Markdown: per op, each framework's forward and backward ms (median of the
    workers' best, min–max) and the ratio to ``reference`` paired by repetition."""
    names = [name for name in results if name != reference]
    header = ["op", "pass", *(f"{name} ms" for name in [*names, reference]),
              *(f"{name} × {reference}" for name in names)]
    rows = []
    for index, shape in enumerate(OPS):
        for direction in ("forward", "backward"):
            cells = [Spread.of(_ms(results[name], index, direction)).format(".2f") for name in [*names, reference]]
            ratios = [paired_ratios(_ms(results[name], index, direction), _ms(results[reference], index, direction))
                      .format(".2f") + "×" for name in names]
            rows.append([shape.name, direction, *cells, *ratios])
    return _table(header, rows)
