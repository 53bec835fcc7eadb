"""chainrule with ``train.FusedStep``: the whole step (zero_grad, forward, backward, update) as one
call, the model and loss one node run on arrays. Not among the default frameworks: ask for it with
``--frameworks chainrule-fused-step``."""
from __future__ import annotations

from chainrule.train import FusedStep

from . import chainrule_trainer


class Trainer(chainrule_trainer.Trainer):
    def __init__(self, weights, workload, threads: int):
        super().__init__(weights, workload, threads)
        self.fused_step = FusedStep(self.model, self.loss, self.optimizer)

    def step(self, batch) -> None:
        self.fused_step(*batch)
