"""chainrule with the model and its loss recorded as one node (``nn.Fused``).

The same layers, ops, optimizer and numbers as the ``chainrule`` trainer (the two
give the same bits); only the graph holds one node per step instead of one per op.
Not among the default frameworks: ask for it with ``--frameworks chainrule-fused``.
"""
from __future__ import annotations

from chainrule import nn

from . import chainrule_trainer


class Trainer(chainrule_trainer.Trainer):
    def __init__(self, weights, workload, threads: int):
        super().__init__(weights, workload, threads)
        self.fused = nn.Fused(self.model, self.loss)

    def step(self, batch) -> None:
        x, y = batch
        loss = self.fused(x, y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
