"""Fused: a model, and optionally its loss, recorded as one node of the graph."""
from __future__ import annotations

import warnings

from ..ops.chain import Chain
from ..tensor import Tensor, is_observed
from .container import Sequential
from .module import Module, layout_version

_FUSABLE: dict[type, bool] = {}
_PLAIN_SEQUENTIAL: dict[type, bool] = {}


def _defines(cls: type, name: str) -> type:
    return next(klass for klass in cls.__mro__ if name in klass.__dict__)


def _fusable(module: Module) -> bool:
    """Whether ``as_function`` describes this module's ``forward``: it is defined by the
    class that defines ``forward``, or below it (a subclass that overrides ``forward``
    alone keeps its own ``forward``)."""
    cls = type(module)
    known = _FUSABLE.get(cls)
    if known is None:
        known = _FUSABLE[cls] = issubclass(_defines(cls, "as_function"), _defines(cls, "forward"))
    return known


def _plain_sequential(module: Module) -> bool:
    cls = type(module)
    known = _PLAIN_SEQUENTIAL.get(cls)
    if known is None:
        known = _PLAIN_SEQUENTIAL[cls] = issubclass(cls, Sequential) and _defines(cls, "forward") is Sequential
    return known


def _unfold(module: Module, layers: list) -> Module | None:
    """Append the layers that ``module`` applies in order; return the first that cannot be
    fused, or None."""
    if not _plain_sequential(module):
        layers.append(module)
        return None if _fusable(module) else module
    for child in module:
        refused = _unfold(child, layers)
        if refused is not None:
            return refused
    return None


class Fused(Module):
    """``Fused(model, loss_fn)(x, target)`` is ``loss_fn(model(x), target)``, and
    ``Fused(model)(x)`` is ``model(x)``, recorded as one node of the graph.

    Same values, same gradients, bit for bit: the node (an :class:`ops.Chain`) runs the
    layers' own ops, forward in order and backward in reverse. Only bookkeeping goes: one
    node, one Tensor and one backward dispatch instead of one per layer, which shows at small
    batch sizes (a 784-64-10 step at batch size 1: 63 → 59 µs). Layers are read when called,
    so ``train()``/``eval()``, new weights and appended layers take effect at once.

    ``model`` is a layer or a (nested) Sequential of layers that apply one op each (every
    layer of ``nn`` does: they are described by :meth:`Module.as_function`; losses with a
    Tensor target). A module that defines its own ``forward`` runs the whole call module by
    module, with a warning naming it, once; so does a module with forward hooks, and an active
    observer (``inspect.trace``, anomaly detection), silently. Parameters are the model's (and the loss's), under the
    names ``model.…`` and ``loss_fn.…``.
    """

    def __init__(self, model: Module, loss_fn: Module | None = None):
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn
        self._layers_read_at = None
        self._warned = set()

    def as_chain(self, *target):
        """``(Chain, its extra inputs)``: the node that ``self(x, *target)`` would record, not yet called
        (call it on ``(x, *extras)``); None where the call would run module by module."""
        chain = None if is_observed() else self._chain(target)
        if chain is None:
            return None
        steps, extras = chain
        return Chain(steps), extras

    def forward(self, x: Tensor, *target) -> Tensor:
        if len(target) != (self.loss_fn is not None):
            expected = "(x, target)" if self.loss_fn is not None else "(x)"
            raise TypeError(f"Fused: expected to be called as {expected}, got {1 + len(target)} arguments")
        chain = self.as_chain(*target)
        if chain is None:
            return self._one_by_one(x, target)
        node, extras = chain
        if not isinstance(x, Tensor):
            x = Tensor(x)
        try:
            return node(x, *extras)
        except Exception:
            # The layers' own checks name the layer and the shapes: let them speak.
            self._one_by_one(x, target)
            raise

    def _fusable_layers(self) -> list | None:
        """The model's layers in order (cached until some module's sub-modules change), or
        None if one of them, or the loss, cannot be fused."""
        if self._layers_read_at != layout_version():
            layers = []
            refused = _unfold(self.model, layers)
            if refused is None and self.loss_fn is not None and not _fusable(self.loss_fn):
                refused = self.loss_fn
            if refused is not None:
                self._fall_back(refused, "defines its own forward()")
            hooked = next((m for m in [*self.model.modules(), *([self.loss_fn] if self.loss_fn else [])]
                           if m._forward_hooks or m._forward_pre_hooks), None)
            if refused is None and hooked is not None:
                self._fall_back(hooked, "has forward hooks")
                refused = hooked
            self._layers = layers if refused is None else None
            self._layers_read_at = layout_version()
        return self._layers

    def _fall_back(self, module: Module, why: str) -> None:
        """Warn, once per module and reason, that the call runs module by module."""
        key = (id(module), why)
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(f"nn.Fused: {module.label()} {why}, so the call runs module by module, "
                          f"not as one node", stacklevel=4)

    def _chain(self, target: tuple) -> tuple[list, list] | None:
        """The steps and extra inputs of the Chain, or None if some module cannot be fused."""
        layers = self._fusable_layers()
        if layers is None:
            return None
        described = [(layer, layer.as_function()) for layer in layers]
        if self.loss_fn is not None:
            described.append((self.loss_fn, self.loss_fn.as_function(*target)))
        steps, extras = [], []
        for module, description in described:
            if description is None:
                self._fall_back(module, "cannot be one op for these arguments")
                return None
            function, extra = description
            if function is not None:
                steps.append((function, len(extra)))
                extras += extra
        return (steps, extras) if steps else None

    def _one_by_one(self, x, target: tuple):
        output = self.model(x)
        return self.loss_fn(output, *target) if self.loss_fn is not None else output
