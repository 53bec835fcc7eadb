"""chainrule's own Functions called by hand, the seeds' style, with chainrule's SGD.

Each step makes fresh Linear, ReLU and SoftmaxCrossEntropy Functions and calls their
``forward`` and ``backward`` on arrays: the ops' own cost, without the graph, the
Tensors and the modules around them. Set against the ``chainrule`` trainer, it shows
what that bookkeeping costs. Not among the default frameworks: ask for it with
``--frameworks chainrule-by-hand``.
"""
from __future__ import annotations

import numpy

from chainrule import nn, ops

from . import chainrule_trainer


class Trainer(chainrule_trainer.Trainer):
    def __init__(self, weights, workload, threads: int):
        super().__init__(weights, workload, threads)
        self.linears = [layer for layer in self.model if isinstance(layer, nn.Linear)]
        self.one = numpy.ones((), dtype=numpy.float32)

    def batch(self, x: numpy.ndarray, y: numpy.ndarray):
        return x, y

    def step(self, batch) -> None:
        x, y = batch
        nodes = []
        h = x
        for index, layer in enumerate(self.linears):
            if index:
                relu = ops.ReLU()
                h = relu.forward(h)
                nodes.append((relu, None))
            linear = ops.Linear()
            h = linear.forward(h, layer.weight.data, layer.bias.data)
            nodes.append((linear, layer))
        loss = ops.SoftmaxCrossEntropy()
        loss.forward(h, y)
        grad = loss.backward(self.one)[0]
        for node, layer in reversed(nodes):
            if layer is None:
                (grad,) = node.backward(grad)
            else:
                grad, layer.weight.grad, layer.bias.grad = node.backward(grad)
        self.optimizer.step()
