"""Every op case, and training, on the CPU stand-in for a GPU (tests/standin.py): any NumPy
leak on the device path fails here, without a GPU. Oracle: the same computation on the
CPU, which test_ops.py checks against finite differences and PyTorch."""
import json

import numpy as np
import pytest

import chainrule as cr
import standin
from device_check import compare
from op_cases import CASES

standin.register()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_op_case_runs_on_the_stand_in_as_on_the_cpu(case):
    compare(case, "standin", rtol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_op_case_runs_at_second_order_on_the_stand_in_as_on_the_cpu(case):
    compare(case, "standin", rtol=1e-12, order=2)


def test_mixing_devices_is_an_error_naming_the_op_and_both_devices():
    a = cr.tensor([1.0, 2.0]).to("standin")
    with pytest.raises(TypeError, match=r"mul: inputs are on different devices \(input 0: standin, input 1: cpu\)"):
        a * cr.tensor([3.0, 4.0])


def test_a_tensor_moves_between_devices_and_its_gradient_comes_back():
    x = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.to("standin")
    assert y.device == "standin" and x.device == "cpu"
    assert y.to("standin") is y
    (y.relu() * 2.0).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 2.0])
    np.testing.assert_array_equal(y.cpu().numpy(), [1.0, -2.0, 3.0])
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(y.data)


def _mlp():
    cr.manual_seed(0)
    return cr.nn.Sequential(cr.nn.Flatten(), cr.nn.Linear(16, 12), cr.nn.ReLU(), cr.nn.Dropout(0.2),
                            cr.nn.Linear(12, 3)).to(np.float64)


def _cnn():
    # No conv bias before BatchNorm: its gradient is 0 up to rounding, which Adam would amplify.
    cr.manual_seed(0)
    return cr.nn.Sequential(cr.nn.Conv2d(1, 4, 3, padding=1, bias=False), cr.nn.BatchNorm2d(4), cr.nn.ReLU(),
                            cr.nn.MaxPool2d(2), cr.nn.Flatten(), cr.nn.Linear(16, 3)).to(np.float64)


def _train(build, optimizer_name: str, device: str, fused: bool):
    model = build().to(device)
    optimizer = {"sgd": lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9),
                 "adam": lambda p: cr.optim.Adam(p, lr=1e-2),
                 "rmsprop": lambda p: cr.optim.RMSprop(p, lr=1e-2, momentum=0.5, centered=True),
                 "adagrad": lambda p: cr.optim.Adagrad(p, lr=1e-2)}[optimizer_name](model.parameters())
    data = np.random.default_rng(5)
    x = cr.tensor(data.standard_normal((6, 1, 4, 4)), device=device)
    y = cr.tensor(data.integers(0, 3, 6), device=device)
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.nn.Fused(model, loss_fn) if fused else (lambda a, b: loss_fn(model(a), b))
    cr.manual_seed(1)
    for _ in range(3):
        loss = step(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for p in model.parameters():
        assert p.device == cr.backend.device(device).name and p.grad is not None
    return model.state_dict(), optimizer.state_dict()


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("optimizer_name", ["sgd", "adam", "rmsprop", "adagrad"])
@pytest.mark.parametrize("build", [_mlp, _cnn])
def test_training_on_the_stand_in_matches_the_cpu(build, optimizer_name, fused):
    want_model, want_optim = _train(build, optimizer_name, "cpu", fused)
    got_model, got_optim = _train(build, optimizer_name, "standin", fused)
    for name, want in want_model.items():
        np.testing.assert_allclose(got_model[name], want, rtol=1e-9, atol=1e-12, err_msg=name)
    for index, entries in want_optim["state"].items():
        for name, value in entries.items():
            np.testing.assert_allclose(got_optim["state"][index][name], value, rtol=1e-9, atol=1e-12)


def test_a_state_dict_moves_between_devices():
    trained, _ = _train(_mlp, "sgd", "standin", fused=False)
    on_cpu = _mlp()
    on_cpu.load_state_dict(trained)
    on_device = _mlp().to("standin")
    on_device.load_state_dict(on_cpu.state_dict())
    for name, value in on_device.state_dict().items():
        np.testing.assert_array_equal(value, trained[name])
    assert all(p.device == "standin" for p in on_device.parameters())


def test_chainrule_train_on_the_stand_in_matches_the_cpu(tmp_path):
    from chainrule import cli
    from synthetic import write_fashion_like

    (tmp_path / "data").mkdir()
    root = write_fashion_like(tmp_path / "data", train_count=256, test_count=64)
    runs = {}
    for device in ("cpu", "standin"):
        out = tmp_path / device
        flags = ["--epochs", "2", "--hidden", "16", "--batch-size", "64", "--no-progress", "--model", "mlp"]
        assert cli.main(["train", "--data-root", str(root), "--out", str(out), "--device", device, *flags]) == 0
        runs[device] = json.loads((out / "history.json").read_text())
    for cpu, device in zip(runs["cpu"], runs["standin"]):
        assert device["test_acc"] == cpu["test_acc"]
        np.testing.assert_allclose([device["train_loss"], device["test_loss"]], [cpu["train_loss"], cpu["test_loss"]],
                                   rtol=1e-5)


def test_a_loader_delivers_batches_on_its_device():
    images = np.arange(24, dtype=np.float32).reshape(6, 4)
    loader = cr.data.DataLoader((images, np.arange(6)), batch_size=4, device="standin")
    x, y = next(iter(loader))
    assert x.device == y.device == "standin"
    np.testing.assert_array_equal(x.cpu().numpy(), images[:4])
    np.testing.assert_array_equal(y.cpu().numpy(), [0, 1, 2, 3])
