"""The README's commands on a Python whose packages Debian manages (PEP 668): ``make`` gives the
project its own virtual environment there, and the install works in it. Oracle: pip itself
(refusing the system Python, accepting the venv) and an import plus one training step."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"


def _externally_managed(python: str) -> bool:
    if not os.path.exists(python):
        return False
    probe = ("import os, sys, sysconfig; print(int(sys.prefix == sys.base_prefix and "
             "os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED'))))")
    return subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout.strip() == "1"


needs_debian_python = pytest.mark.skipif(not _externally_managed(SYSTEM_PYTHON),
                                         reason=f"no externally managed {SYSTEM_PYTHON} (not a Debian-like system)")


def _make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=600)


def test_an_ordinary_python_is_used_as_it_is():
    dry = _make("-n", "test", f"PYTHON={sys.executable}")
    assert dry.returncode == 0, dry.stderr
    assert f"{sys.executable} -m pytest" in dry.stdout and "venv" not in dry.stdout


@needs_debian_python
def test_a_debian_python_gets_a_virtual_environment(tmp_path):
    venv = tmp_path / "venv"
    dry = _make("-n", "test", f"PYTHON={SYSTEM_PYTHON}", f"VENV={venv}")
    assert f"{venv}/bin/python -m pip install" in dry.stdout and f"{venv}/bin/python -m pytest" in dry.stdout


@pytest.mark.slow
@needs_debian_python
def test_the_install_works_in_that_environment(tmp_path):
    refused = subprocess.run([SYSTEM_PYTHON, "-m", "pip", "install", "--dry-run", "--no-deps", "chainrule"],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr
    venv = tmp_path / "venv"
    made = _make("env", f"PYTHON={SYSTEM_PYTHON}", f"VENV={venv}")
    assert made.returncode == 0, made.stderr
    python = str(venv / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", str(ROOT)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    step = ("import numpy as np, chainrule as cr; from chainrule import nn, optim; cr.manual_seed(0); "
            "m = nn.Linear(4, 2); o = optim.SGD(m.parameters(), lr=0.1); "
            "loss = nn.CrossEntropyLoss()(m(cr.tensor(np.ones((3, 4), np.float32))), cr.tensor(np.array([0, 1, 1]))); "
            "loss.backward(); o.step(); print(round(float(loss.item()), 6))")
    ran = subprocess.run([python, "-c", step], capture_output=True, text=True, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    here = subprocess.run([sys.executable, "-c", step], capture_output=True, text=True, cwd=tmp_path)
    assert ran.stdout == here.stdout  # the same loss as this interpreter's chainrule computes
