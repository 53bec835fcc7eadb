"""cr.check_gradients: each kind of broken gradient is built on purpose and must be named;
a healthy model must produce no warning."""
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.inspect import GradientProblem, GradientWarning


class TwoBranches(nn.Module):
    """``used`` feeds the output; ``unused`` is never called; ``zeroed`` is multiplied by 0."""

    def __init__(self):
        super().__init__()
        self.used = nn.Linear(3, 2, dtype=np.float64)
        self.unused = nn.Linear(3, 2, dtype=np.float64)
        self.zeroed = nn.Linear(3, 2, bias=False, dtype=np.float64)

    def forward(self, x):
        return self.used(x) + 0.0 * self.zeroed(x)


def backward_once(model):
    model(cr.tensor(np.ones((4, 3)))).sum().backward()


def test_names_missing_and_zero_gradients():
    model = TwoBranches()
    backward_once(model)
    with pytest.warns(GradientWarning) as caught:
        problems = cr.check_gradients(model)
    assert problems == [GradientProblem("unused.weight", "missing"), GradientProblem("unused.bias", "missing"),
                        GradientProblem("zeroed.weight", "zero")]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3
    assert "'unused.weight' received no gradient" in messages[0]
    assert "'zeroed.weight' has a gradient that is all zero" in messages[2]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_names_non_finite_gradients(bad):
    model = nn.Linear(3, 2, dtype=np.float64)
    backward_once(model)
    model.bias.grad[1] = bad
    with pytest.warns(GradientWarning, match="'bias' has a gradient with NaN or ±inf"):
        assert cr.check_gradients(model) == [GradientProblem("bias", "not_finite")]


def test_warns_once_per_problem_with_a_registry():
    model = TwoBranches()
    backward_once(model)
    warned = set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            assert len(cr.check_gradients(model, warned)) == 3
    assert len(caught) == 3 and len(warned) == 3


def test_healthy_model_and_frozen_parameters_are_quiet():
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Tanh(), nn.Linear(4, 1, dtype=np.float64))
    model[2].bias.requires_grad_(False)  # frozen: no gradient expected
    backward_once(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cr.check_gradients(model) == []


class WithUnusedLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(3, 2)
        self.unused = nn.Linear(3, 2)

    def forward(self, x):
        return self.used(x)


@pytest.mark.parametrize("gradient_check", [True, False])
def test_fit_checks_gradients_once_per_problem(gradient_check):
    from chainrule import data, optim
    from chainrule.train import fit

    rng = np.random.default_rng(0)
    loader = data.DataLoader((rng.standard_normal((16, 3)).astype(np.float32), rng.integers(0, 2, 16)),
                             batch_size=4, transform=lambda x: x)
    model = WithUnusedLayer()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(model, optim.SGD(model.parameters(), lr=0.1), loader, epochs=3, progress=False,
            log=lambda line: None, gradient_check=gradient_check)
    messages = sorted(str(w.message) for w in caught if issubclass(w.category, GradientWarning))
    if gradient_check:
        assert len(messages) == 2  # 3 epochs × 4 steps, yet each problem once
        assert "'unused.bias'" in messages[0] and "'unused.weight'" in messages[1]
    else:
        assert messages == []
