"""Module mechanics: registration, naming and order (against torch.nn), modes,
gradients, state_dict / load_state_dict and their errors, repr, Sequential."""
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import CheckpointError

torch = pytest.importorskip("torch")
tnn = torch.nn


class Block(nn.Module):
    def __init__(self, lib):
        super().__init__()
        self.fc1 = lib.Linear(4, 6)
        self.norm = lib.BatchNorm1d(6)
        self.act = lib.ReLU()
        self.fc2 = lib.Linear(6, 3, bias=False)

    def forward(self, x):
        return self.fc2(self.act(self.norm(self.fc1(x))))


class TorchBlock(tnn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = tnn.Linear(4, 6)
        self.norm = tnn.BatchNorm1d(6)
        self.act = tnn.ReLU()
        self.fc2 = tnn.Linear(6, 3, bias=False)


def architectures():
    """The same architecture built in chainrule and in PyTorch."""
    ours = nn.Sequential(Block(nn), nn.LayerNorm(3), nn.Sequential(OrderedDict(head=nn.Linear(3, 2), out=nn.Tanh())),
                         nn.Embedding(5, 2))
    theirs = tnn.Sequential(TorchBlock(), tnn.LayerNorm(3),
                            tnn.Sequential(OrderedDict(head=tnn.Linear(3, 2), out=tnn.Tanh())), tnn.Embedding(5, 2))
    return ours, theirs


def test_parameter_names_order_and_shapes_equal_torchs():
    ours, theirs = architectures()
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert [n for n, _ in ours.named_parameters()][:4] == ["0.fc1.weight", "0.fc1.bias", "0.norm.weight", "0.norm.bias"]


def test_state_dict_keys_order_shapes_and_dtypes_equal_torchs():
    ours, theirs = architectures()
    expected = [(k, tuple(v.shape), str(v.numpy().dtype)) for k, v in theirs.state_dict().items()]
    assert [(k, v.shape, str(v.dtype)) for k, v in ours.state_dict().items()] == expected
    assert all(isinstance(v, np.ndarray) for v in ours.state_dict().values())


def test_buffers_children_and_modules():
    ours, _ = architectures()
    assert [n for n, _ in ours.named_buffers()] == ["0.norm.running_mean", "0.norm.running_var",
                                                    "0.norm.num_batches_tracked"]
    assert [type(m).__name__ for m in ours.children()] == ["Block", "LayerNorm", "Sequential", "Embedding"]
    assert [n for n, _ in ours.named_modules()] == ["", "0", "0.fc1", "0.norm", "0.act", "0.fc2", "1", "2",
                                                    "2.head", "2.out", "3"]
    assert len(list(ours.modules())) == 11


def test_parameters_are_parameters_requiring_grad():
    params = list(nn.Linear(3, 2).parameters())
    assert len(params) == 2
    assert all(isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf for p in params)
    assert "Parameter containing" in repr(params[1])


def test_a_shared_parameter_is_listed_once_but_saved_under_each_name():
    first = nn.Linear(3, 3)
    second = nn.Linear(3, 3)
    second.weight = first.weight
    model = nn.Sequential(first, second)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_train_and_eval_reach_every_module():
    ours, _ = architectures()
    assert ours.training and all(m.training for m in ours.modules())
    assert ours.eval() is ours
    assert not any(m.training for m in ours.modules())
    ours.train()
    assert all(m.training for m in ours.modules())


def test_zero_grad_sets_gradients_to_none():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    model(cr.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_to_casts_parameters_and_floating_buffers():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(np.float64)
    assert {str(v.dtype) for k, v in model.state_dict().items() if "num_batches" not in k} == {"float64"}
    assert model.state_dict()["1.num_batches_tracked"].dtype == np.int64
    assert model(cr.Tensor(np.ones((2, 3)))).dtype == np.float64


# -- state dicts -----------------------------------------------------------------------
def test_state_dict_holds_copies():
    layer = nn.Linear(2, 2)
    original = layer.weight.data.copy()
    saved = layer.state_dict()
    layer.weight.data[...] = 7.0
    np.testing.assert_array_equal(saved["weight"], original)


def test_load_state_dict_round_trip_copies_in_place():
    source, target = nn.Linear(3, 2), nn.Linear(3, 2)
    weight_array = target.weight.data
    result = target.load_state_dict(source.state_dict())
    assert result == nn.IncompatibleKeys([], [])
    assert target.weight.data is weight_array  # arrays stay, so anything holding them sees the new values
    np.testing.assert_array_equal(target.weight.data, source.weight.data)
    x = cr.randn(4, 3)
    np.testing.assert_array_equal(target(x).data, source(x).data)


def test_load_state_dict_accepts_tensors():
    source, target = nn.LayerNorm(3), nn.LayerNorm(3)
    source.weight.data[:] = [1.0, 2.0, 3.0]
    target.load_state_dict({"weight": source.weight, "bias": cr.zeros(3)})
    np.testing.assert_array_equal(target.weight.data, [1.0, 2.0, 3.0])


def test_load_state_dict_lists_every_problem_in_one_error():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.BatchNorm1d(3))
    state = model.state_dict()
    del state["0.bias"]
    state["0.weight"] = np.zeros((3, 5), dtype=np.float32)
    state["2.running_var"] = state["2.running_var"].astype(np.int64)  # another floating dtype would be cast
    state["9.weight"] = np.zeros(1)
    before = model.state_dict()
    with pytest.raises(CheckpointError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing keys: 0.bias" in message
    assert "unexpected keys: 9.weight" in message
    assert "shape mismatches: 0.weight: model (3, 4), state_dict (3, 5)" in message
    assert "dtype mismatches: 2.running_var: model float32, state_dict int64" in message
    for key, value in model.state_dict().items():  # nothing was copied
        np.testing.assert_array_equal(value, before[key])


def test_load_state_dict_not_strict_skips_missing_and_unexpected_but_not_mismatches():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    state = {"0.weight": np.ones((2, 2), np.float32), "extra": np.zeros(2)}
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias", "1.weight", "1.bias"]
    assert result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model[0].weight.data, np.ones((2, 2)))
    with pytest.raises(CheckpointError, match="shape mismatches: 0.weight"):
        model.load_state_dict({"0.weight": np.ones((1, 2), np.float32)}, strict=False)


# -- registration rules ------------------------------------------------------------
def test_assignment_before_init_says_to_call_super_init():
    class Forgetful(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) first in Forgetful"):
        Forgetful()


def test_assigning_a_plain_value_to_a_parameter_name_is_refused_but_none_is_allowed():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign a Tensor to parameter 'weight' of Linear"):
        layer.weight = cr.zeros(2, 2)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert list(layer.state_dict()) == ["weight"]


def test_reassigning_and_deleting_update_the_registries():
    model = nn.Module()
    model.a = nn.Parameter(np.zeros(2))
    model.b = nn.Linear(1, 1)
    model.register_buffer("c", np.ones(3))
    assert list(model.state_dict()) == ["a", "c", "b.weight", "b.bias"]
    model.a = nn.Linear(1, 1)  # a parameter name becomes a sub-module
    del model.b
    assert list(model.state_dict()) == ["c", "a.weight", "a.bias"]
    model.c = np.zeros(3)  # a buffer stays a buffer (as a Tensor)
    assert isinstance(model.c, cr.Tensor) and list(model.named_buffers())[0][0] == "c"


def test_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        nn.Module()(cr.zeros(1))


# -- repr ---------------------------------------------------------------------------
def test_repr_matches_torch():
    ours = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.BatchNorm1d(3), nn.LeakyReLU(0.2), nn.LayerNorm(3),
                         nn.GELU(), nn.Sequential(nn.Linear(3, 2, bias=False), nn.Softmax(dim=1)), nn.Sigmoid(),
                         nn.Tanh(), nn.Embedding(4, 2))
    theirs = tnn.Sequential(tnn.Flatten(), tnn.Linear(4, 3), tnn.BatchNorm1d(3), tnn.LeakyReLU(0.2),
                            tnn.LayerNorm(3), tnn.GELU(), tnn.Sequential(tnn.Linear(3, 2, bias=False),
                                                                         tnn.Softmax(dim=1)),
                            tnn.Sigmoid(), tnn.Tanh(), tnn.Embedding(4, 2))
    assert repr(ours) == repr(theirs)
    assert repr(nn.BatchNorm1d(2, affine=False)) == repr(tnn.BatchNorm1d(2, affine=False))
    assert repr(nn.LayerNorm(2, bias=False)) == repr(tnn.LayerNorm(2, bias=False))
    assert repr(nn.Dropout(0.3)) == "Dropout(p=0.3)"


# -- Sequential ------------------------------------------------------------------------
def test_sequential_indexing_len_iter_and_append():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    model = nn.Sequential(a, b)
    assert model.append(c) is model
    assert len(model) == 3 and list(model) == [a, b, c]
    assert model[0] is a and model[-1] is c
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == [b, c]
    assert [n for n, _ in tail.named_parameters()] == ["2.weight", "2.bias"]
    with pytest.raises(IndexError, match="out of range for 3 modules"):
        model[3]
    x = cr.randn(4, 2)
    np.testing.assert_array_equal(model(x).data, c(b(a(x))).data)


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="'1' is a function, not a Module"):
        nn.Sequential(nn.ReLU(), cr.relu)
