"""Python started inside src/chainrule finds chainrule's inspect/ and random.py first on sys.path;
they stand in for the standard library's modules, so NumPy (which imports both) and chainrule work."""
import subprocess
import sys
from pathlib import Path

import chainrule

PACKAGE = Path(chainrule.__file__).resolve().parent

PROGRAM = """
import inspect, random, sys
import numpy
import chainrule as cr
assert inspect.__file__.startswith(sys.base_prefix) and random.__file__.startswith(sys.base_prefix), \\
    (inspect.__file__, random.__file__)
assert str(inspect.signature(lambda a, b=2: None)) == "(a, b=2)"
random.seed(3)
first = random.random()
random.seed(3)
assert random.random() == first
x = cr.tensor([1.0, 2.0], requires_grad=True)
(x * x).sum().backward()
assert x.grad.tolist() == [2.0, 4.0]
assert cr.random.manual_seed(0) is cr.random.default_generator()
print("ok")
"""


def test_python_started_inside_the_package_gets_the_standard_library():
    completed = subprocess.run([sys.executable, "-c", PROGRAM], cwd=PACKAGE, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "ok"
