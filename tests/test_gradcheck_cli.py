"""`chainrule check FILE.py:NAME --shape ...`: the report on stdout, exit status 0 on
pass, 1 on failure, 2 on a command-line mistake."""
import argparse
import subprocess
import sys
import textwrap

import pytest

from chainrule.cli import main, parse_shape

LAYERS = textwrap.dedent('''
    import numpy as np
    import chainrule as cr
    from chainrule import nn

    class Cube(cr.Function):
        def forward(self, x):
            self.x = x
            return x ** 3

        def backward(self, dy):
            return (3 * self.x ** 2 * dy,)

    class CubeSignFlipped(Cube):
        def backward(self, dy):
            return (-3 * self.x ** 2 * dy,)

    def two_layer(x, w):
        return cr.relu(x @ w).sum(axis=1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x).tanh()

    class NeedsArguments(nn.Module):
        def __init__(self, width):
            super().__init__()
''')


@pytest.fixture
def layers(tmp_path):
    path = tmp_path / "layers.py"
    path.write_text(LAYERS)
    return path


def test_a_correct_function_passes_with_status_0(layers, capsys):
    assert main(["check", f"{layers}:Cube", "--shape", "3,4"]) == 0
    out = capsys.readouterr().out
    assert "gradcheck Cube (Function, called by hand)" in out and "passed: 1 gradient" in out


def test_a_broken_function_fails_with_status_1_and_its_diagnosis(layers, capsys):
    assert main(["check", f"{layers}:CubeSignFlipped", "--shape", "3,4"]) == 1
    assert "sign_flipped" in capsys.readouterr().out


def test_a_function_of_several_inputs_and_a_module_class(layers, capsys):
    assert main(["check", f"{layers}:two_layer", "--shape", "3,4", "4,2", "--seed", "3"]) == 0
    assert main(["check", f"{layers}:Net", "--shape", "5,4", "--mode", "fast"]) == 0
    out = capsys.readouterr().out
    assert "fc.weight" in out and "float32" in out  # a Module's inputs take its parameters' dtype


def test_options_reach_the_checker(layers, capsys):
    assert main(["check", f"{layers}:Cube", "--shape", "scalar", "--dtype", "float32", "--positive",
                 "--rtol", "1e-3", "--atol", "1e-6", "--keep-kinks"]) == 0
    out = capsys.readouterr().out
    assert "output () float32" in out and "rtol 1e-03, atol 1.0e-06" in out


@pytest.mark.parametrize("spec, complaint", [
    ("{path}:Missing", "defines no 'Missing'"),
    ("{path}", "expected FILE.py:NAME"),
    ("{path}.nope:Cube", "no such file"),
    ("{path}:NeedsArguments", "needs constructor arguments"),
])
def test_command_line_mistakes_exit_with_status_2(layers, capsys, spec, complaint):
    assert main(["check", spec.format(path=layers), "--shape", "3"]) == 2
    assert complaint in capsys.readouterr().err


def test_a_bad_shape_is_an_argparse_error(layers):
    with pytest.raises(SystemExit) as caught:
        main(["check", f"{layers}:Cube", "--shape", "3,x"])
    assert caught.value.code == 2


def test_parse_shape():
    assert parse_shape("4,8") == (4, 8) and parse_shape("5") == (5,) and parse_shape("scalar") == ()
    with pytest.raises(argparse.ArgumentTypeError):
        parse_shape("-1,2")


def test_the_module_runs_as_a_program(layers):
    done = subprocess.run([sys.executable, "-m", "chainrule.cli", "check", f"{layers}:CubeSignFlipped",
                           "--shape", "2,3"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "sign_flipped" in done.stdout


@pytest.mark.parametrize("target, shapes, complaint", [
    ("Cube", ["3", "3"], "cannot run on 2 input(s) of shapes 3 3"),          # one input too many
    ("two_layer", ["3,4"], "cannot run on 1 input(s) of shapes 3,4"),        # one input missing
    ("two_layer", ["3,4", "5,2"], "cannot run on 2 input(s) of shapes 3,4 5,2"),  # shapes that do not fit
])
def test_inputs_the_target_cannot_take_are_usage_errors_not_failed_gradients(layers, capsys, target, shapes,
                                                                             complaint):
    assert main(["check", f"{layers}:{target}", "--shape", *shapes]) == 2
    err = capsys.readouterr().err
    assert complaint in err and "pass one --shape per input" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_wrong_gradient_still_exits_1(layers, capsys):
    assert main(["check", f"{layers}:CubeSignFlipped", "--shape", "3"]) == 1
