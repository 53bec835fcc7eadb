"""All verification cases: every ``tests/cases_*.py`` module adds its own.

Shapes cover broadcasting ((3,1,5) with (4,5)), size-1 and empty axes, and
repeated inputs (f(x, x)). ``tests/test_registry.py`` fails if an op has no case.
"""
import importlib
import pathlib

from oracle import CASES

for _path in sorted(pathlib.Path(__file__).parent.glob("cases_*.py")):
    importlib.import_module(_path.stem)

__all__ = ["CASES"]
