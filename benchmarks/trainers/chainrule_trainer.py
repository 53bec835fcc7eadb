"""chainrule through its public API, as a user writes a training loop."""
from __future__ import annotations

import numpy

import chainrule as cr
from chainrule import nn, optim

from ..machine import numpy_blas
from ..workloads import Workload
from . import training_step


def mlp(sizes: tuple[int, ...]) -> nn.Sequential:
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def state_dict(weights) -> dict:
    """Sequential names its Linear layers 0, 2, 4, ... (the ReLUs sit in between)."""
    state = {}
    for index, (weight, bias) in enumerate(weights):
        state[f"{2 * index}.weight"] = weight
        state[f"{2 * index}.bias"] = bias
    return state


class Trainer:
    def __init__(self, weights, workload: Workload, threads: int):
        self.model = mlp(workload.sizes)
        self.model.load_state_dict(state_dict(weights))
        self.loss = nn.CrossEntropyLoss()
        self.optimizer = optim.SGD(self.model.parameters(), lr=workload.lr, momentum=workload.momentum)
        self.threads = threads

    def batch(self, x: numpy.ndarray, y: numpy.ndarray):
        return cr.Tensor(x), cr.Tensor(y)

    def step(self, batch) -> None:
        training_step(self.model, self.loss, self.optimizer, batch)

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        with cr.no_grad():
            return self.model(cr.Tensor(x)).numpy().argmax(axis=1)

    def describe(self) -> dict:
        from importlib.metadata import version

        return {"version": version("chainrule"), "blas": numpy_blas(), "threads": self.threads}
