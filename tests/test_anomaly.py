"""detect_anomaly(): the first op whose forward output or backward gradient is NaN or
±inf raises AnomalyError naming the op, its input shapes and the line of user code
that called it.

Oracle: the op each scenario is built to break (and that no op before it could
have), the line of this file that calls it, and the shapes given to it.
"""
import gc
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import cli, data, nn, optim
from chainrule.anomaly import AnomalyDetector
from chainrule.train import fit

HERE = Path(__file__)

# The scenarios make NaN and inf on purpose; NumPy's warnings about it are expected.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def line_of(tag: str) -> int:
    """The number of the one line of this file that ends with the comment ``# <tag>``."""
    lines = [i for i, line in enumerate(HERE.read_text().splitlines(), 1) if line.endswith(f"# {tag}")]
    assert len(lines) == 1, f"'# {tag}' must end exactly one line, found {lines}"
    return lines[0]


def test_anomaly_error_is_a_floating_point_error():
    assert issubclass(cr.AnomalyError, FloatingPointError)


def test_forward_names_the_op_the_input_shapes_and_the_calling_line():
    x = cr.tensor(np.array([[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]], np.float32), requires_grad=True)
    with pytest.raises(cr.AnomalyError) as info, cr.detect_anomaly():
        cr.log(x)  # the call that makes -inf
    error = info.value
    assert (error.op, error.phase) == ("Log", "forward")
    assert error.source == f"{HERE}:{line_of('the call that makes -inf')}"
    message = str(error)
    assert "Log returned a non-finite output in the forward pass (1 -inf of 6 values" in message
    assert "cr.log(x)  # the call that makes -inf" in message
    assert "input 0: (2, 3) float32, finite" in message
    assert "Its inputs are finite, so Log itself made the non-finite values" in message


def test_only_the_first_non_finite_op_is_reported():
    x = cr.tensor(np.array([0.1, 10.0], np.float32), requires_grad=True)
    scaled = x * 100.0
    with pytest.raises(cr.AnomalyError) as info, cr.detect_anomaly():
        y = cr.exp(scaled * 1.0)  # exp(1000) overflows float32
        (y * 2.0 - y).sum()
    assert info.value.op == "Exp"
    assert "1 +inf of 2 values" in str(info.value)
    assert info.value.source.endswith(f":{line_of('exp(1000) overflows float32')}")


def test_without_the_block_nothing_is_checked():
    x = cr.tensor(np.array([0.0]), requires_grad=True)
    with cr.detect_anomaly():
        cr.log(x + 1.0)
    with np.errstate(divide="ignore"):
        assert cr.log(x).item() == -np.inf


def test_finite_computations_give_the_same_values_and_gradients():
    rng = np.random.default_rng(0)
    a, w = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))

    def run():
        x, weight = cr.tensor(a, requires_grad=True), cr.tensor(w, requires_grad=True)
        loss = cr.linear(x, weight).tanh().sum()
        loss.backward()
        return loss.item(), x.grad, weight.grad

    plain = run()
    with cr.detect_anomaly():
        checked = run()
    assert plain[0] == checked[0]
    np.testing.assert_array_equal(plain[1], checked[1])
    np.testing.assert_array_equal(plain[2], checked[2])


def test_backward_names_the_op_and_the_line_that_ran_its_forward():
    x = cr.tensor(np.array([4.0, 0.0, 9.0]), requires_grad=True)
    with pytest.raises(cr.AnomalyError) as info, cr.detect_anomaly():
        root = cr.sqrt(x)  # finite forward, infinite derivative at 0
        root.sum().backward()
    error = info.value
    assert (error.op, error.phase) == ("Sqrt", "backward")
    assert error.source == f"{HERE}:{line_of('finite forward, infinite derivative at 0')}"
    message = str(error)
    assert "the gradient that Sqrt.backward returned for input 0 is not finite (1 +inf of 3 values" in message
    assert "input 0: (3,) float64, finite" in message
    assert "upstream gradient: (3,) float64, finite" in message
    assert "so Sqrt's backward made the non-finite values" in message


class NaNBackward(cr.Function):
    """y = 2x with a deliberately broken backward that returns NaN for input 1."""

    def forward(self, x, scale):
        return x * scale

    def backward(self, dy):
        return dy * 2.0, np.full_like(dy, np.nan)


def test_a_custom_function_with_a_broken_backward_is_named():
    x = cr.tensor(np.ones((2, 2)), requires_grad=True)
    s = cr.tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(cr.AnomalyError, match=r"NaNBackward\.backward returned for input 1 is not finite "
                                              r"\(4 NaN of 4 values") as info, cr.detect_anomaly():
        (NaNBackward()(x, s) * 3.0).sum().backward()
    assert info.value.phase == "backward"
    assert x.grad is None  # the error stopped backward before it reached the leaves


def test_check_forward_false_still_checks_gradients():
    x = cr.tensor(np.array([0.0, 1.0]), requires_grad=True)
    with pytest.raises(cr.AnomalyError) as info, cr.detect_anomaly(check_forward=False):
        with np.errstate(divide="ignore"):
            y = cr.log(x)
        assert y.data[0] == -np.inf
        y.sum().backward()
    assert (info.value.op, info.value.phase) == ("Log", "backward")


def test_a_non_finite_upstream_gradient_is_blamed_on_its_source():
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(cr.AnomalyError, match="the gradient passed to backward") as info, cr.detect_anomaly():
        (x * 3.0).backward(np.array([np.nan, 1.0]))
    assert "upstream gradient: (2,) float64, NOT finite: 1 NaN of 2 values" in str(info.value)


def test_forward_outside_the_block_is_reported_without_a_call_site():
    x = cr.tensor(np.array([0.0, 1.0]), requires_grad=True)
    root = cr.sqrt(x)
    with pytest.raises(cr.AnomalyError, match="Sqrt ran its forward pass outside detect_anomaly") as info:
        with cr.detect_anomaly():
            root.sum().backward()
    assert info.value.source is None


def test_a_nan_parameter_is_reported_at_the_layer_as_bad_input():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model[2].weight.data[1, 3] = np.nan
    x = cr.tensor(np.ones((5, 3), np.float32))
    with pytest.raises(cr.AnomalyError) as info, cr.detect_anomaly():
        model(x)  # the model call
    message = str(info.value)
    assert info.value.op == "Linear"
    assert info.value.source.endswith(f":{line_of('the model call')}")
    assert "input 0: (5, 4) float32, finite" in message
    assert "input 1: (2, 4) float32, NOT finite: 1 NaN of 8 values" in message
    assert "input 2: (2,) float32, finite" in message
    assert "An input already held non-finite values" in message


def test_usable_as_a_decorator():
    @cr.detect_anomaly()
    def step(x):
        return cr.log(x)

    with pytest.raises(cr.AnomalyError, match="Log returned a non-finite output"):
        step(cr.tensor(np.array([-1.0])))


def test_call_sites_are_forgotten_with_the_graph():
    x = cr.tensor(np.ones(3), requires_grad=True)
    with cr.detect_anomaly() as detector:
        assert isinstance(detector, AnomalyDetector)
        y = (x * 2.0).exp().sum()
        assert len(detector.call_sites) == 3
        del y
        gc.collect()
        assert len(detector.call_sites) == 0


def test_no_graph_ops_are_checked_but_not_remembered():
    with cr.detect_anomaly() as detector, cr.no_grad():
        cr.exp(cr.tensor(np.ones(3), requires_grad=True))
        assert len(detector.call_sites) == 0
        with pytest.raises(cr.AnomalyError, match="Exp returned a non-finite output"):
            cr.exp(cr.tensor(np.array([1e5])))


def test_finds_the_op_when_training_on_data_that_holds_a_nan(capsys):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (64, 6)).astype(np.float32)
    x[37, 2] = np.nan
    y = rng.integers(0, 3, 64)
    loader = data.DataLoader((x, y), batch_size=16, transform=lambda batch: batch)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(cr.AnomalyError) as info, cr.detect_anomaly():
        fit(model, optimizer, loader, epochs=1, progress=False, log=lambda line: None)  # the fit call
    message = str(info.value)
    assert info.value.op == "Linear" and info.value.phase == "forward"
    assert info.value.source == f"{HERE}:{line_of('the fit call')}"
    assert "input 0: (16, 6) float32, NOT finite: 1 NaN of 96 values" in message


def test_chainrule_train_detect_anomaly_names_the_layer_and_exits_1(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for train, count in ((True, 128), (False, 32)):
        image_file, label_file = data.FashionMNIST.spec.split(train)
        data.write_idx(tmp_path / f"{image_file.name}.gz", rng.integers(0, 256, (count, 28, 28), dtype=np.uint8), gzip=True)
        data.write_idx(tmp_path / f"{label_file.name}.gz", rng.integers(0, 10, count).astype(np.uint8), gzip=True)
    arguments = ["train", "--data-root", str(tmp_path), "--out", str(tmp_path / "run"), "--epochs", "2",
                 "--hidden", "16", "--batch-size", "32", "--lr", "1e12", "--no-progress", "--detect-anomaly"]
    status = cli.main(arguments)  # the cli call
    error = capsys.readouterr().err
    assert status == 1
    assert "chainrule train: error: detect_anomaly: Linear returned a non-finite output in the forward pass" in error
    assert f"called at {HERE}:{line_of('the cli call')}" in error
    assert "input 1: (10, 16) float32, finite" in error
