"""FusedStep: a whole training step (zero the gradients, the loss, backward, the optimizer's update)
as one call, for the batch-size-1 regime where bookkeeping costs more than arithmetic.

    step = train.FusedStep(model, nn.CrossEntropyLoss(), optimizer)
    for x, y in loader:
        loss = step(x, y)          # the loss, a Tensor without a graph: backward and the update are done

The same step as the eager five lines (``optimizer.zero_grad(); loss = loss_fn(model(x), y);
loss.backward(); optimizer.step()``), bit for bit: the model and loss become one ``Chain`` node, as
``nn.Fused`` records them, and ``tensor.forward_and_backward`` runs its forward and the engine's own
first-order walk on arrays, with no Tensor per op, no Module call and no output Tensor on a graph.
The layers are read at every call, so new weights, ``train()``/``eval()`` and appended layers take
effect at once: nothing is cached that could go stale. The step runs the eager way instead (same
result) where that path cannot: a model that cannot be fused for these arguments, an observer
(``inspect.trace``, anomaly detection), gradient hooks, gradients disabled, or an input that wants a
gradient itself.
"""
from __future__ import annotations

from ..nn import Fused, Module
from ..tensor import Tensor, forward_and_backward, hooks_registered, is_grad_enabled


class FusedStep:
    """``step(x, target)``: one training step of ``model`` under ``loss_fn`` with ``optimizer``; returns
    the loss (a Tensor holding its value, no graph)."""

    def __init__(self, model: Module, loss_fn: Module, optimizer):
        self.fused = Fused(model, loss_fn)
        self.optimizer = optimizer

    def __call__(self, x, target) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        target = target if isinstance(target, Tensor) else Tensor(target)
        chain = None
        if is_grad_enabled() and not hooks_registered() and not x.requires_grad:
            chain = self.fused.as_chain(target)
        self.optimizer.zero_grad()
        if chain is None:
            loss = self.fused(x, target)
            loss.backward()
            self.optimizer.step()
            return loss.detach()
        node, extras = chain
        loss = forward_and_backward(node, (x, *extras))
        self.optimizer.step()
        return Tensor(loss)
