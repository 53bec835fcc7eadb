"""All verification cases: ``tests/cases/<module>.py`` holds the cases of the ops in
``src/chainrule/ops/<module>.py``, and adds them here on import.

Shapes cover broadcasting ((3,1,5) with (4,5)), size-1 and empty axes, and
repeated inputs (f(x, x)). ``tests/test_registry.py`` fails if an op has no case.
"""
import importlib
import pathlib

from oracle import CASES

for _path in sorted((pathlib.Path(__file__).parent / "cases").glob("*.py")):
    importlib.import_module(f"cases.{_path.stem}")

__all__ = ["CASES"]
