"""When Python runs from inside ``src/chainrule``, that folder comes first on ``sys.path``, and
``inspect/`` and ``random.py`` there would shadow the standard library's ``inspect`` and ``random``,
which NumPy imports: NumPy's import would fail. Each of the two starts with a guard that, imported
under the standard library's name, calls :func:`stand_in_for_standard_library` and becomes it.

This file is reached as the top-level module ``_shadowed`` in exactly that case (its folder is on
``sys.path``); inside the package nothing imports it.
"""
from __future__ import annotations

import importlib.machinery
import os
import sys


def stand_in_for_standard_library(namespace: dict) -> None:
    """Fill ``namespace`` (the shadowing module's globals) with the standard library's module of the
    same name, as if that one had been imported."""
    name = namespace["__name__"]
    here = os.path.dirname(os.path.abspath(__file__))
    elsewhere = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec(name, elsewhere)
    if spec is None:
        raise ImportError(f"{name}: Python runs from inside {here}, whose {name} is chainrule's, and the "
                          f"standard library's {name} is not on sys.path; run Python from another folder")
    namespace.pop("__path__", None)
    namespace.update(__file__=spec.origin, __spec__=spec, __loader__=spec.loader, __package__="")
    exec(spec.loader.get_code(name), namespace)
