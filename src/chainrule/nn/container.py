"""Containers: Sequential (modules applied one after another), ModuleList and ModuleDict
(modules held in a list or by name), ParameterList (parameters held in a list), all registered
so that their parameters are the container's, under PyTorch's names."""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

from .module import Module
from .parameter import Parameter


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


class ModuleDict(Module):
    """Modules held by name (PyTorch's ``nn.ModuleDict``): ``d["encoder"]``, ``in``, ``keys()``,
    ``values()``, ``items()``, ``update``; no forward of its own."""

    def __init__(self, modules=None):
        super().__init__()
        self.update(modules or {})

    def __setitem__(self, name: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: {name!r} is a {type(module).__name__}, not a Module")
        setattr(self, name, module)

    def __getitem__(self, name: str) -> Module:
        if name not in self.__dict__["_module_names"]:
            raise KeyError(f"ModuleDict has no module {name!r}; it has {list(self.keys())}")
        return self.__dict__[name]

    def __contains__(self, name: str) -> bool:
        return name in self.__dict__["_module_names"]

    def __len__(self) -> int:
        return len(self.__dict__["_module_names"])

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def keys(self) -> list:
        return list(self.__dict__["_module_names"])

    def values(self) -> list:
        return [module for _, module in self.named_children()]

    def items(self) -> list:
        return list(self.named_children())

    def update(self, modules) -> None:
        for name, module in (modules.items() if hasattr(modules, "items") else modules):
            self[name] = module


class ParameterList(Module):
    """Parameters held in a list, named "0", "1", ... (PyTorch's ``nn.ParameterList``): index it,
    iterate it, ``append`` and ``extend`` it; its parameters are the module's."""

    def __init__(self, values=None):
        super().__init__()
        self.extend(values or [])

    def append(self, value) -> ParameterList:
        setattr(self, str(len(self)), value if isinstance(value, Parameter) else Parameter(value))
        return self

    def extend(self, values) -> ParameterList:
        for value in values:
            self.append(value)
        return self

    def __len__(self) -> int:
        return len(self.__dict__["_parameter_names"])

    def __iter__(self) -> Iterator[Parameter]:
        return (self.__dict__[name] for name in self.__dict__["_parameter_names"])

    def __getitem__(self, index: int) -> Parameter:
        names = list(self.__dict__["_parameter_names"])
        try:
            return self.__dict__[names[index]]
        except (IndexError, TypeError):
            raise IndexError(f"ParameterList index {index!r} out of range for {len(names)} parameters") from None
