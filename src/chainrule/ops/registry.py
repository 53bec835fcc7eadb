"""Every built-in op, by name: its Function class, its function and its Tensor methods.

An op is declared in one place, its module under ops/: the class, registered with
``@register("relu")``, and right below it the function that users call, marked with
``@public("relu")`` to become a Tensor method too. ``ops.functional``, ``chainrule``'s
namespace and the Tensor methods are generated from here, and
``tests/test_registry.py`` fails when a registered op has no verification case, so a
new op cannot land unchecked.
"""
from __future__ import annotations

from collections.abc import Callable

from ..tensor import Function

REGISTRY: dict[str, type[Function]] = {}
"""op name → its Function class."""

FUNCTIONS: dict[str, Callable] = {}
"""The functional API (``ops.relu``, ``cr.relu``): name → function, in declaration order."""

METHODS: dict[str, Callable] = {}
"""Tensor methods and operators: name → function (``"__add__"`` → ``add``)."""


def register(name: str):
    """Class decorator: record a Function subclass under ``name``."""

    def decorate(cls: type[Function]) -> type[Function]:
        if name in REGISTRY:
            raise ValueError(f"op {name!r} is registered twice ({REGISTRY[name].__name__} and {cls.__name__})")
        REGISTRY[name] = cls
        cls.op_name = name
        return cls

    return decorate


def _swapped(function: Callable) -> Callable:
    """The reflected operator: ``2 - x`` calls ``x.__rsub__(2)``, i.e. sub(2, x)."""
    return lambda self, other: function(other, self)


def public(*methods: str, reflected: tuple[str, ...] = (), functional: bool = True):
    """Function decorator: the function joins the functional API under its own name (unless
    ``functional`` is False: a Tensor method only, as ``x.cuda()``) and becomes the Tensor
    methods ``methods`` (``x.relu()``) and the reflected operators ``reflected``
    (``"__radd__"``: ``2 + x`` is ``add(2, x)``)."""

    def decorate(function: Callable) -> Callable:
        name = function.__name__
        if name in FUNCTIONS:
            raise ValueError(f"function {name!r} is declared twice")
        if functional:
            FUNCTIONS[name] = function
        for method in methods:
            METHODS[method] = function
        for method in reflected:
            METHODS[method] = _swapped(function)
        return function

    return decorate
