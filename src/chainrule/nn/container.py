"""Sequential: modules applied one after another."""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

from .module import Module


class Sequential(Module):
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
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: {name!r} is a {type(module).__name__}, not a Module")
            setattr(self, name, module)

    def forward(self, x):
        state = self.__dict__
        for name in state["_module_names"]:
            x = state[name](x)
        return x

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end, named by its position."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def __len__(self) -> int:
        return len(self.__dict__["_module_names"])

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def __getitem__(self, index):
        named = list(self.named_children())
        if isinstance(index, slice):
            return Sequential(OrderedDict(named[index]))
        try:
            return named[index][1]
        except (IndexError, TypeError):
            raise IndexError(f"Sequential index {index!r} out of range for {len(named)} modules") from None
