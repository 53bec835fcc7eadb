"""A plain hand-written NumPy training loop: the reference a framework competes with.

Written the obvious way (no graph, no checks, no buffer reuse) to show what NumPy
itself costs on this machine.
"""
from __future__ import annotations

import numpy

from ..machine import numpy_blas
from ..workloads import Workload


class Trainer:
    def __init__(self, weights, workload: Workload, threads: int):
        self.params = [array.copy() for layer in weights for array in layer]
        self.buffers = [numpy.zeros_like(p) for p in self.params]
        self.lr = numpy.float32(workload.lr)
        self.momentum = numpy.float32(workload.momentum)
        self.threads = threads

    def batch(self, x: numpy.ndarray, y: numpy.ndarray):
        return x, y

    def forward(self, x: numpy.ndarray) -> list[numpy.ndarray]:
        """The input of every layer, then the logits."""
        activations = [x]
        layers = len(self.params) // 2
        for index in range(layers):
            weight, bias = self.params[2 * index], self.params[2 * index + 1]
            z = activations[-1] @ weight.T + bias
            activations.append(numpy.maximum(z, 0) if index < layers - 1 else z)
        return activations

    def step(self, batch) -> None:
        x, y = batch
        activations = self.forward(x)
        logits = activations.pop()
        p = numpy.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[numpy.arange(len(y)), y] -= 1
        grad = p / numpy.float32(len(y))
        grads = [None] * len(self.params)
        for index in reversed(range(len(activations))):
            weight = self.params[2 * index]
            grads[2 * index] = grad.T @ activations[index]
            grads[2 * index + 1] = grad.sum(axis=0)
            if index:
                grad = (grad @ weight) * (activations[index] > 0)
        for param, buffer, g in zip(self.params, self.buffers, grads):
            buffer *= self.momentum
            buffer += g
            param -= self.lr * buffer

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        return self.forward(x)[-1].argmax(axis=1)

    def describe(self) -> dict:
        return {"version": numpy.__version__, "blas": numpy_blas(), "threads": self.threads}
