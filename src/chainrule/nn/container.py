"""Containers: Sequential (modules applied one after another) and ModuleList (modules held
in a list, registered so that their parameters are the container's)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

from .module import Module


class _ModuleSequence(Module):
    """Modules registered under their positions "0", "1", ...: sized, iterable, indexable (an
    int gives a module, a slice a new container of the same kind), and appendable."""

    def _register(self, name: str, module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: {name!r} is a {type(module).__name__}, not a Module")
        setattr(self, name, module)

    def append(self, module: Module):
        """Add ``module`` at the end, named by its position."""
        self._register(str(len(self)), module)
        return self

    def __len__(self) -> int:
        return len(self.__dict__["_module_names"])

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def __getitem__(self, index):
        named = list(self.named_children())
        if isinstance(index, slice):
            return self._from_named(named[index])
        try:
            return named[index][1]
        except (IndexError, TypeError):
            raise IndexError(f"{type(self).__name__} index {index!r} out of range for {len(named)} modules") from None


class Sequential(_ModuleSequence):
    """Calls its modules in order, each on the previous one's output.

    ``Sequential(a, b, c)`` names them "0", "1", "2" (so parameters are "0.weight",
    ...); ``Sequential(OrderedDict(name=module, ...))`` uses the given names.
    Indexable (an int gives a module, a slice a new Sequential), sized, iterable.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            named = list(modules[0].items())
        else:
            named = [(str(i), module) for i, module in enumerate(modules)]
        for name, module in named:
            self._register(name, module)

    @staticmethod
    def _from_named(named: list) -> Sequential:
        return Sequential(OrderedDict(named))

    def forward(self, x):
        state = self.__dict__
        for name in state["_module_names"]:
            x = state[name](x)
        return x


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are the list's (PyTorch's ``nn.ModuleList``): index it,
    iterate it, ``append`` and ``extend`` it; it has no forward of its own."""

    def __init__(self, modules=None):
        super().__init__()
        self.extend(modules or [])

    @staticmethod
    def _from_named(named: list) -> ModuleList:
        return ModuleList(module for _, module in named)

    def extend(self, modules) -> ModuleList:
        for module in modules:
            self.append(module)
        return self
