"""gradcheck(order=2) and `chainrule check --order 2`: every broken backward_graph of the zoo fails
with its diagnosis while order 1 passes it; every correct twin, every registered op's cases and
a model pass."""
import numpy as np
import pytest

import chainrule as cr
from broken_double_backward import SPECIMENS
from chainrule import nn
from chainrule.cli import main
from op_cases import CASES


@pytest.mark.parametrize("specimen", SPECIMENS, ids=str)
def test_a_broken_backward_graph_fails_order_2_with_its_diagnosis(specimen):
    assert cr.gradcheck(specimen.broken, specimen.inputs()).passed  # order 1 cannot see it
    report = cr.gradcheck(specimen.broken, specimen.inputs(), order=2, raise_on_fail=False)
    assert not report.passed
    assert specimen.code in report.codes, str(report)


@pytest.mark.parametrize("specimen", SPECIMENS, ids=str)
def test_its_correct_twin_passes_order_2(specimen):
    assert cr.gradcheck(specimen.correct, specimen.inputs(), order=2).passed


def test_a_broken_op_is_named_inside_a_composition():
    def composed(x):
        return cr.tanh(CubeSign()(x) * 2.0).sum(axis=1)

    from broken_double_backward import CubeSignFlipped as CubeSign

    report = cr.gradcheck(composed, [np.random.default_rng(0).uniform(0.5, 1.5, (3, 4))], order=2, raise_on_fail=False)
    (finding,) = [d for d in report.diagnoses if d.code == "sign_flipped"]
    assert finding.subject == "CubeSignFlipped" and "CubeSignFlipped.backward_graph" in finding.message


def _one_case_per_op():
    chosen = {}
    for case in CASES:
        if case.op not in chosen and all(np.asarray(a).size for a in case.inputs):
            chosen[case.op] = case
    return list(chosen.values())


@pytest.mark.parametrize("case", _one_case_per_op(), ids=str)
def test_every_registered_op_passes_order_2(case):
    report = cr.gradcheck(case.fn, list(case.inputs), order=2, raise_on_fail=False)
    assert report.passed, str(report)


def test_a_model_passes_order_2_with_its_parameters():
    model = nn.Sequential(nn.Linear(4, 5), nn.GELU(), nn.LayerNorm(5), nn.Linear(5, 3)).double()
    report = cr.gradcheck(model, [np.random.default_rng(0).standard_normal((2, 4))], order=2)
    assert {g.name for g in report.gradients} == {"input 0", "0.weight", "0.bias", "2.weight", "2.bias",
                                                 "3.weight", "3.bias"}


def test_order_must_be_1_or_2():
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        cr.gradcheck(cr.tanh, [np.ones(3)], order=3)


def test_check_order_2_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "cubes.py"
    path.write_text("from broken_double_backward import Cube, CubeMissingTerm\n")
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    assert main(["check", f"{path}:Cube", "--shape", "3,4", "--positive", "--order", "2"]) == 0
    assert "second order of Cube" in capsys.readouterr().out
    assert main(["check", f"{path}:CubeMissingTerm", "--shape", "3,4", "--positive"]) == 0
    assert main(["check", f"{path}:CubeMissingTerm", "--shape", "3,4", "--positive", "--order", "2"]) == 1
    assert "missing_term" in capsys.readouterr().out
