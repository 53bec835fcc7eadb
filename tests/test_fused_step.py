"""train.FusedStep takes the eager step's exact bits: the five lines of a training step are the oracle,
for optimizers with and without state, dropout and batch norm, and every case that falls back."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import FusedStep


def _model(kind: str) -> nn.Module:
    if kind == "dropout":
        return nn.Sequential(nn.Linear(6, 9), nn.ReLU(), nn.Dropout(0.3), nn.Linear(9, 4))
    if kind == "batchnorm":
        return nn.Sequential(nn.Linear(6, 9), nn.BatchNorm1d(9), nn.Tanh(), nn.Linear(9, 4))
    return nn.Sequential(nn.Flatten(), nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 4))


OPTIMIZERS = {
    "sgd-momentum": lambda params: optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-3),
    "adam": lambda params: optim.Adam(params, lr=0.01),
}


def _train(kind: str, optimizer: str, fused: bool, steps: int = 6, dtype=np.float32, between=None):
    cr.manual_seed(0)
    model = _model(kind)
    if dtype == np.float64:
        model.double()
    opt = OPTIMIZERS[optimizer](model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    step = FusedStep(model, loss_fn, opt)
    rng = np.random.default_rng(1)
    losses = []
    for index in range(steps):
        x = cr.tensor(rng.standard_normal((5, 6)).astype(dtype))
        y = cr.tensor(rng.integers(0, 4, 5))
        if between is not None:
            between(index, model)
        if fused:
            losses.append(step(x, y).item())
        else:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses, {name: value.copy() for name, value in model.state_dict().items()}


def _assert_same_bits(fused, eager):
    assert fused[0] == eager[0]
    assert fused[1].keys() == eager[1].keys()
    for name, value in fused[1].items():
        np.testing.assert_array_equal(value, eager[1][name], err_msg=name)


@pytest.mark.parametrize("kind", ["plain", "dropout", "batchnorm"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_the_eager_steps_bit_for_bit(kind, optimizer, dtype):
    _assert_same_bits(_train(kind, optimizer, True, dtype=dtype), _train(kind, optimizer, False, dtype=dtype))


def test_changes_between_steps_take_effect_at_once():
    def change(index, model):
        if index == 2:
            model.eval()  # dropout off from the third step
        if index == 3:
            model[3].weight = nn.Parameter(model[3].weight.data * 0.5)  # a new Parameter object
        if index == 4:
            model[0].weight.data[...] = 0.01  # new values in place

    fused, eager = _train("dropout", "sgd-momentum", True, between=change), _train("dropout", "sgd-momentum", False,
                                                                                     between=change)
    _assert_same_bits(fused, eager)


def test_falls_back_to_the_eager_step_where_it_must():
    cr.manual_seed(0)
    model = _model("plain")
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = FusedStep(model, nn.CrossEntropyLoss(), opt)
    x, y = cr.tensor(np.ones((2, 6), dtype=np.float32)), cr.tensor(np.array([0, 3]))
    seen = []
    handle = model[1].weight.register_hook(lambda grad: seen.append(grad.shape))
    step(x, y)
    handle.remove()
    assert seen == [(9, 6)]  # the hook ran: the step took the eager walk
    with cr.trace() as traced:
        step(x, y)
    assert [op.op for op in traced.ops][:2] == ["Flatten", "Linear"]  # op by op under an observer
    x.requires_grad = True
    step(x, y)
    assert x.grad is not None and x.grad.shape == (2, 6)
    with pytest.raises(RuntimeError, match="one element"):
        FusedStep(model, nn.CrossEntropyLoss(reduction="none"), opt)(x.detach(), y)


def test_a_target_on_the_graph_gets_its_gradient_as_in_eager():
    """A loss target made by another model (distillation-like): the step's one node has an input with
    a creator, so the walk must continue into that model, as eager's backward() does."""
    def run(fused: bool):
        cr.manual_seed(0)
        student, teacher = nn.Linear(6, 4), nn.Linear(6, 4)
        opt = optim.SGD([*student.parameters(), *teacher.parameters()], lr=0.1)
        loss_fn = nn.MSELoss()
        step = FusedStep(student, loss_fn, opt)
        x = cr.tensor(np.random.default_rng(2).standard_normal((5, 6)).astype(np.float32))
        for _ in range(3):
            target = teacher(x)
            if fused:
                step(x, target)
            else:
                opt.zero_grad()
                loss_fn(student(x), target).backward()
                opt.step()
        return teacher.weight.grad.copy(), student.weight.data.copy(), teacher.weight.data.copy()

    for fused_value, eager_value in zip(run(True), run(False)):
        np.testing.assert_array_equal(fused_value, eager_value)
