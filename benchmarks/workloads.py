"""The workloads: their sizes and hyper-parameters, initial weights and data.

Everything a framework trains on is made here with NumPy, so that every framework
starts from the same weights and sees the same batches in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

FLOAT = numpy.float32
PIXEL_SCALE = FLOAT(1.0 / 255.0)


@dataclass(frozen=True)
class Workload:
    """A ReLU MLP trained with SGD and momentum on 28×28 images."""

    sizes: tuple[int, ...]
    batch: int
    lr: float
    momentum: float = 0.9


MLP = Workload(sizes=(784, 512, 512, 10), batch=128, lr=0.05)
MLP_EPOCHS = 3
MLP_STEPS_PER_EPOCH = 468  # 60,000 // 128: the last partial batch is dropped

MICRO = Workload(sizes=(784, 64, 10), batch=1, lr=5e-4)  # larger rates diverge at batch 1
MICRO_STEPS = 5000
MICRO_WARMUP = 500

SWEEP_BATCHES = (32, 64, 128, 256, 512, 1024)  # at width 512
SWEEP_WIDTHS = (128, 256, 512, 1024, 2048)  # at batch 128


def sweep_points() -> list[tuple[int, int]]:
    """(batch, width) pairs: the batch sweep at width 512, then the width sweep at batch 128."""
    points = [(batch, 512) for batch in SWEEP_BATCHES]
    points += [(128, width) for width in SWEEP_WIDTHS if (128, width) not in points]
    return points


def sweep_workload(batch: int, width: int) -> Workload:
    return Workload(sizes=(784, width, width, 10), batch=batch, lr=MLP.lr)


def initial_weights(sizes: tuple[int, ...], seed: int) -> list[tuple[numpy.ndarray, numpy.ndarray]]:
    """(weight (out, in), bias (out,)) per layer, float32, drawn as PyTorch's default
    init draws them: both uniform in ±1/√fan_in."""
    rng = numpy.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / numpy.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(FLOAT)
        bias = rng.uniform(-bound, bound, fan_out).astype(FLOAT)
        layers.append((weight, bias))
    return layers


def fashion_mnist(train: bool) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Images (N, 784) uint8 and labels (N,) int64 of Fashion-MNIST."""
    from chainrule import data

    dataset = data.FashionMNIST(train=train)
    return dataset.images.reshape(len(dataset.labels), -1), dataset.labels.astype(numpy.int64)


def to_float(images: numpy.ndarray) -> numpy.ndarray:
    """uint8 pixels to float32 in [0, 1]."""
    return images.astype(FLOAT) * PIXEL_SCALE


def epoch_order(count: int, seed: int, epoch: int) -> numpy.ndarray:
    """The shuffled sample order of one epoch, the same in every framework."""
    return numpy.random.default_rng([seed, epoch]).permutation(count)


def random_batches(workload: Workload, count: int, seed: int) -> list[tuple[numpy.ndarray, numpy.ndarray]]:
    """``count`` batches of random inputs in [0, 1) and random labels, for the sweep."""
    rng = numpy.random.default_rng(seed)
    classes = workload.sizes[-1]
    return [
        (rng.random((workload.batch, workload.sizes[0]), dtype=FLOAT), rng.integers(0, classes, workload.batch))
        for _ in range(count)
    ]


def training_products(workload: Workload) -> list[tuple[int, int, int]]:
    """The matrix products (M, K, N) of one training step: per layer the forward
    x·Wᵀ, the weight gradient dyᵀ·x and, except for the first layer (whose input
    needs no gradient), the input gradient dy·W."""
    products = []
    batch = workload.batch
    for layer, (fan_in, fan_out) in enumerate(zip(workload.sizes[:-1], workload.sizes[1:])):
        products.append((batch, fan_in, fan_out))
        products.append((fan_out, batch, fan_in))
        if layer:
            products.append((batch, fan_out, fan_in))
    return products
