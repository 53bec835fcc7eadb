"""PyTorch with ``torch.compile``, as its tutorials show: the model compiled (TorchInductor, C++ on
the CPU) and the optimizer's step compiled ("Compiling the optimizer with torch.compile"), the
training loop otherwise eager.

Compilation happens at the first calls, so the trainer warms both up at construction on two steps
of random data, then puts the initial weights back and zeroes the momentum buffers in place (SGD's
first step with a zero buffer is its first step with none: b = 0·μ + g). No timed step compiles,
and every step is the one the other frameworks take.
"""
from __future__ import annotations

import numpy
import torch

from ..workloads import Workload, random_batches
from . import torch_trainer


class Trainer(torch_trainer.Trainer):
    def __init__(self, weights, workload: Workload, threads: int):
        super().__init__(weights, workload, threads)
        self.eager_model = self.model
        self.model = torch.compile(self.eager_model)
        self._optimizer_step = torch.compile(self.optimizer.step)
        for x, y in random_batches(workload, 2, seed=0):
            self.step(self.batch(x, y))
        with torch.no_grad():
            for parameter, initial in zip(self.eager_model.parameters(), [a for layer in weights for a in layer]):
                parameter.copy_(torch.from_numpy(initial))
            for state in self.optimizer.state.values():
                state["momentum_buffer"].zero_()

    def step(self, batch) -> None:
        x, y = batch
        loss = self.loss(self.model(x), y)
        self.optimizer.zero_grad()
        loss.backward()
        self._optimizer_step()

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        with torch.no_grad():
            return self.eager_model(torch.from_numpy(x)).argmax(dim=1).numpy()

    def describe(self) -> dict:
        return {**super().describe(), "version": f"{torch.__version__} (torch.compile, inductor)"}
