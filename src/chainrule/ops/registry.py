"""Every built-in op, by name, so that tests can prove each one is verified.

``tests/test_registry.py`` fails when an op registered here has no verification
case; a new op therefore cannot land unchecked.
"""
from __future__ import annotations

from ..tensor import Function

REGISTRY: dict[str, type[Function]] = {}


def register(name: str):
    """Class decorator: record a Function subclass under ``name``."""

    def decorate(cls: type[Function]) -> type[Function]:
        if name in REGISTRY:
            raise ValueError(f"op {name!r} is registered twice ({REGISTRY[name].__name__} and {cls.__name__})")
        REGISTRY[name] = cls
        cls.op_name = name
        return cls

    return decorate
