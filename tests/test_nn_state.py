"""State dicts cross between PyTorch and chainrule: a torch model's ``state_dict()``
(converted with ``.numpy()``) loads into the equivalent chainrule model and gives the
same outputs, and a chainrule model's loads into torch."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
tnn = torch.nn

rng = np.random.default_rng(8)


def chainrule_model():
    return nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, 8), nn.LayerNorm(8),
                         nn.ReLU(), nn.Linear(8, 3))


def torch_model():
    return tnn.Sequential(tnn.Linear(10, 16), tnn.ReLU(), tnn.BatchNorm1d(16), tnn.Linear(16, 8), tnn.LayerNorm(8),
                          tnn.ReLU(), tnn.Linear(8, 3))


def batch(n=12):
    return rng.standard_normal((n, 10)).astype(np.float32)


def assert_same_outputs(ours, theirs, x, rtol=1e-5, atol=1e-6):
    with cr.no_grad(), torch.no_grad():
        np.testing.assert_allclose(ours(cr.Tensor(x)).data, theirs(torch.from_numpy(x)).numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("train", [False, True])
def test_torch_state_dict_loads_into_chainrule(train):
    torch.manual_seed(0)
    theirs = torch_model()
    optimizer = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(3):  # move weights and running statistics away from their defaults
        optimizer.zero_grad()
        theirs(torch.from_numpy(batch())).square().mean().backward()
        optimizer.step()
    ours = chainrule_model()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.train(train)
    theirs.train(train)
    assert_same_outputs(ours, theirs, batch())
    assert int(ours[2].num_batches_tracked.data) == 3 + train
    for name, value in theirs.state_dict().items():  # in training the running statistics moved alike
        np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=1e-5, atol=1e-7, err_msg=name)


def test_chainrule_state_dict_loads_into_torch():
    ours = chainrule_model()
    for _ in range(3):
        ours.zero_grad()
        out = ours(cr.Tensor(batch()))
        (out * out).mean().backward()
        for p in ours.parameters():
            p.data -= 0.1 * p.grad
    theirs = torch_model()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    ours.eval()
    theirs.eval()
    assert_same_outputs(ours, theirs, batch())
    for (name, value), (torch_name, torch_value) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert name == torch_name
        np.testing.assert_array_equal(value, torch_value.numpy())


def test_round_trip_through_torch_is_exact():
    ours = chainrule_model()
    theirs = torch_model()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    back = chainrule_model()
    back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for (name, a), b in zip(ours.state_dict().items(), back.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
