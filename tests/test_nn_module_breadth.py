"""Module's PyTorch API beyond forward: hooks, apply, requires_grad_, zero_grad(set_to_none),
load_state_dict's casts, ModuleDict, ParameterList, parameters_to_vector — each against torch."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from nn_reference import copy_into_torch

torch = pytest.importorskip("torch")


def _pair():
    ours = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)).double()
    copy_into_torch(ours, theirs)
    return ours, theirs


X = np.random.default_rng(0).standard_normal((5, 4))


def test_forward_hooks_and_pre_hooks_change_inputs_and_outputs_as_in_torch():
    ours, theirs = _pair()
    for model, tensor in ((ours, cr.tensor), (theirs, torch.tensor)):
        model[0].register_forward_pre_hook(lambda module, args: (args[0] * 2.0,))
        model[1].register_forward_hook(lambda module, args, output: output + 1.0)
    np.testing.assert_allclose(ours(cr.tensor(X)).numpy(), theirs(torch.tensor(X)).detach().numpy(), rtol=1e-12)


def test_a_hook_sees_each_call_and_its_handle_removes_it():
    ours, _ = _pair()
    seen = []
    handle = ours[2].register_forward_hook(lambda module, args, output: seen.append(output.shape))
    ours(cr.tensor(X))
    handle.remove()
    ours(cr.tensor(X))
    assert seen == [(5, 2)]


def test_fused_runs_a_hooked_model_module_by_module_and_says_so():
    ours, theirs = _pair()
    ours[1].register_forward_hook(lambda module, args, output: output * 3.0)
    theirs[1].register_forward_hook(lambda module, args, output: output * 3.0)
    with pytest.warns(UserWarning, match="has forward hooks"):
        y = nn.Fused(ours)(cr.tensor(X))
    np.testing.assert_allclose(y.numpy(), theirs(torch.tensor(X)).detach().numpy(), rtol=1e-12)


def test_apply_visits_children_first_then_the_module():
    ours, theirs = _pair()
    names_ours, names_theirs = [], []
    ours.apply(lambda m: names_ours.append(type(m).__name__))
    theirs.apply(lambda m: names_theirs.append(type(m).__name__))
    assert names_ours == names_theirs == ["Linear", "Tanh", "Linear", "Sequential"]

    def init(m):
        if isinstance(m, nn.Linear):
            m.weight.data[...] = 0.5
    ours.apply(init)
    assert all((p.data == 0.5).all() for name, p in ours.named_parameters() if name.endswith("weight"))


def test_frozen_parameters_get_no_gradient_and_zero_grad_can_zero_in_place():
    ours, _ = _pair()
    ours[0].requires_grad_(False)
    ours(cr.tensor(X)).sum().backward()
    assert ours[0].weight.grad is None and ours[2].weight.grad is not None
    grad = ours[2].weight.grad
    ours.zero_grad(set_to_none=False)
    assert ours[2].weight.grad is grad and not grad.any()
    ours.zero_grad()
    assert ours[2].weight.grad is None


def test_load_state_dict_casts_another_floating_dtype_as_torch_and_refuses_integers():
    ours = nn.Linear(3, 2)  # float32
    state = {"weight": np.arange(6.0).reshape(2, 3), "bias": np.array([0.5, -0.5])}  # float64
    ours.load_state_dict(state)
    theirs = torch.nn.Linear(3, 2)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    assert ours.weight.dtype == np.float32
    np.testing.assert_array_equal(ours.weight.numpy(), theirs.weight.detach().numpy())
    with pytest.raises(cr.CheckpointError, match="dtype mismatches: weight"):
        ours.load_state_dict({"weight": np.arange(6).reshape(2, 3), "bias": np.zeros(2, np.float32)})


def test_module_dict_and_parameter_list_name_their_state_as_torch():
    class Ours(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.Linear(2, 1)})
            self.scales = nn.ParameterList([cr.ones(3), cr.zeros(2)])

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(2, 2), "b": torch.nn.Linear(2, 1)})
            self.scales = torch.nn.ParameterList([torch.ones(3), torch.zeros(2)])

    ours, theirs = Ours(), Theirs()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    assert "a" in ours.heads and len(ours.heads) == 2 and list(ours.heads.keys()) == ["a", "b"]
    assert [p.shape for p in ours.scales] == [(3,), (2,)] and ours.scales[1].shape == (2,)
    with pytest.raises(KeyError, match="has no module 'c'"):
        ours.heads["c"]


def test_parameters_to_vector_and_back_as_torch():
    ours, theirs = _pair()
    vector = nn.utils.parameters_to_vector(ours.parameters())
    np.testing.assert_array_equal(vector.numpy(),
                                  torch.nn.utils.parameters_to_vector(theirs.parameters()).detach().numpy())
    nn.utils.vector_to_parameters(vector * 2.0, ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.nn.utils.parameters_to_vector(theirs.parameters()) * 2.0,
                                        theirs.parameters())
    for (_, a), b in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.detach().numpy())
    with pytest.raises(ValueError, match="expected a vector of 23 elements"):
        nn.utils.vector_to_parameters(cr.zeros(5), ours.parameters())
