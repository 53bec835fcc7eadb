"""docs/porting-from-pytorch.md: every chainrule name in a row marked "yes" exists."""
import pathlib
import re

import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "porting-from-pytorch.md"
ROOTS = {"cr": cr, "F": F, "nn": nn, "optim": optim, "x": cr.Tensor}


def _supported_names() -> list[str]:
    names = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[2].startswith("yes"):
            names += re.findall(r"`([A-Za-z_][\w.]*)`", cells[1])
    return names


def test_the_table_lists_names():
    assert len(_supported_names()) > 150


@pytest.mark.parametrize("name", _supported_names())
def test_every_supported_name_exists(name):
    root, *path = name.split(".")
    obj = ROOTS[root]
    for part in path:
        obj = getattr(obj, part)
    assert obj is not None
