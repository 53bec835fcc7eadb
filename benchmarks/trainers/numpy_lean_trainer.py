"""The plain NumPy loop written for speed: the floor a Python framework on NumPy can approach.

Unlike ``numpy_trainer`` (written the obvious way), it multiplies with ``dot`` on 2-D
arrays (``@`` hands the batch-1 outer product to a GEMM ten times slower), works in
place where it can, and updates through one scratch array per parameter. No graph,
no checks. Not among the default frameworks: ask for it with ``--frameworks numpy-lean``.
"""
from __future__ import annotations

import numpy

from . import numpy_trainer


class Trainer(numpy_trainer.Trainer):
    def __init__(self, weights, workload, threads: int):
        super().__init__(weights, workload, threads)
        self.scratch = [numpy.empty_like(p) for p in self.params]

    def step(self, batch) -> None:
        x, y = batch
        layers = len(self.params) // 2
        activations = [x]
        for index in range(layers):
            z = numpy.dot(activations[-1], self.params[2 * index].T)
            z += self.params[2 * index + 1]
            if index < layers - 1:
                numpy.maximum(z, 0, out=z)
            activations.append(z)
        grad = activations.pop()
        grad -= grad.max(axis=1, keepdims=True)
        numpy.exp(grad, out=grad)
        grad /= grad.sum(axis=1, keepdims=True)
        grad[numpy.arange(len(y)), y] -= 1
        grad *= numpy.float32(1.0 / len(y))
        grads = [None] * len(self.params)
        for index in reversed(range(layers)):
            grads[2 * index] = numpy.dot(grad.T, activations[index])
            grads[2 * index + 1] = grad.sum(axis=0)
            if index:
                grad = numpy.dot(grad, self.params[2 * index])
                grad *= activations[index] > 0
        for param, buffer, g, scratch in zip(self.params, self.buffers, grads, self.scratch):
            numpy.multiply(buffer, self.momentum, out=buffer)
            numpy.add(buffer, g, out=buffer)
            numpy.multiply(buffer, self.lr, out=scratch)
            numpy.subtract(param, scratch, out=param)
