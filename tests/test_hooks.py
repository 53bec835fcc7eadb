"""Tensor.register_hook, retain_grad and detach_, against PyTorch's behaviour (hand values, and
torch itself where it runs the same program)."""
import numpy as np
import pytest

import chainrule as cr


def test_a_leaf_hook_sees_the_whole_gradient_once_and_may_replace_it():
    torch = pytest.importorskip("torch")
    seen, seen_torch = [], []
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10.0)
    (x * x + x).sum().backward()  # x used twice: one call, with 2x + 1
    xt = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    xt.register_hook(lambda g: seen_torch.append(g.numpy().copy()) or g * 10.0)
    (xt * xt + xt).sum().backward()
    assert len(seen) == len(seen_torch) == 1
    np.testing.assert_array_equal(seen[0], seen_torch[0])
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())  # 10·(2x + 1)


def test_a_hook_on_an_intermediate_changes_what_flows_below_it():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    h = x * 3.0
    h.register_hook(lambda g: g * 0.5)
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad, 3.0 * 0.5 * 2 * 3.0 * np.array([1.0, -2.0]))  # 0.5 · d(9x²)/dx


def test_removing_a_hook_and_hooks_on_tensors_that_need_no_gradient():
    calls = []
    x = cr.tensor([1.0], requires_grad=True)
    handle = x.register_hook(lambda g: calls.append(1))
    (x * 2.0).sum().backward()
    handle.remove()
    handle.remove()  # twice is harmless
    (x * 2.0).sum().backward()
    assert calls == [1]
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).register_hook(print)


def test_a_hook_under_create_graph_receives_a_tensor_that_stays_on_the_graph():
    torch = pytest.importorskip("torch")
    x = cr.tensor(2.0, dtype="float64", requires_grad=True)
    h = x * 1.0
    h.register_hook(lambda g: g * h)  # the gradient times h: itself on the graph
    (g,) = cr.autograd.grad(h**2, x, create_graph=True)
    (gg,) = cr.autograd.grad(g, x)
    xt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    ht = xt * 1.0
    ht.register_hook(lambda g: g * ht)
    (gt,) = torch.autograd.grad(ht**2, xt, create_graph=True)
    (ggt,) = torch.autograd.grad(gt, xt)
    assert (g.item(), gg.item()) == (gt.item(), ggt.item()) == (8.0, 16.0)


def test_detach_in_place_makes_a_leaf():
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 2.0
    assert y.detach_() is y and y.is_leaf and not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()
