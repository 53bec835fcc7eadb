"""PyTorch eager, the idiomatic way: nn.Sequential, nn.CrossEntropyLoss, optim.SGD."""
from __future__ import annotations

import numpy
import torch

from ..workloads import Workload
from . import training_step


def mlp(sizes: tuple[int, ...]) -> torch.nn.Sequential:
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


class Trainer:
    def __init__(self, weights, workload: Workload, threads: int):
        torch.set_num_threads(threads)
        self.model = mlp(workload.sizes)
        state = {}
        for index, (weight, bias) in enumerate(weights):
            state[f"{2 * index}.weight"] = torch.from_numpy(weight)
            state[f"{2 * index}.bias"] = torch.from_numpy(bias)
        self.model.load_state_dict(state)
        self.loss = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=workload.lr, momentum=workload.momentum)

    def batch(self, x: numpy.ndarray, y: numpy.ndarray):
        return torch.from_numpy(x), torch.from_numpy(y)

    def step(self, batch) -> None:
        training_step(self.model, self.loss, self.optimizer, batch)

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        with torch.no_grad():
            return self.model(torch.from_numpy(x)).argmax(dim=1).numpy()

    def describe(self) -> dict:
        return {"version": torch.__version__, "blas": blas_name(), "threads": torch.get_num_threads()}


def blas_name() -> str:
    """The BLAS PyTorch was built with, as its build configuration names it."""
    for line in torch.__config__.show().splitlines():
        if "Math Kernel Library Version" in line:
            return line.strip().lstrip("- ").split(" for ")[0]
    return "MKL" if torch.backends.mkl.is_available() else "its own kernels"
