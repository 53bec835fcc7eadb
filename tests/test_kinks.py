"""Values at the points where an op is not differentiable, and at the numerical edges.

At a kink the gradient is a convention; chainrule follows PyTorch's. Each test
computes the gradient in both libraries on the same inputs (with a random upstream
gradient) and also states the expected value by hand, so a convention change in
either shows up. The edge tests check that huge or infinite inputs give the same
finite (or infinite) values as PyTorch, with no overflow.
"""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def assert_matches_torch(cr_fn, torch_fn, *arrays):
    """f(x…) and the gradients of ⟨G, f(x…)⟩ agree between chainrule and PyTorch (float64).

    Returns chainrule's input gradients and the random upstream gradient G.
    """
    xs = [cr.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    out = cr_fn(*xs)
    G = np.random.default_rng(0).uniform(0.5, 1.5, out.shape)
    out.backward(G)
    ts = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    ref = torch_fn(*ts)
    ref.backward(torch.tensor(G))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=0)
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)
    return [x.grad for x in xs], G


X = np.array([-1.5, 0.0, 2.0])


def test_relu_at_zero_takes_no_gradient():
    (dx,), G = assert_matches_torch(cr.relu, torch.relu, X)
    np.testing.assert_allclose(dx, [0.0, 0.0, G[2]])


@pytest.mark.parametrize("negative_slope", [0.01, 0.2])
def test_leaky_relu_at_zero_takes_the_negative_slope(negative_slope):
    (dx,), G = assert_matches_torch(lambda x: cr.leaky_relu(x, negative_slope),
                                    lambda x: torch.nn.functional.leaky_relu(x, negative_slope), X)
    np.testing.assert_allclose(dx, G * [negative_slope, negative_slope, 1.0])


def test_abs_at_zero_takes_no_gradient():
    (dx,), G = assert_matches_torch(cr.abs, torch.abs, X)
    np.testing.assert_allclose(dx, G * [-1.0, 0.0, 1.0])


TIES = np.array([[1.0, 3.0, 3.0],
                 [2.0, 2.0, -1.0],
                 [-1.0, -1.0, -1.0]])
THIRD = 1.0 / 3.0


def test_max_over_everything_splits_among_ties():
    (dx,), G = assert_matches_torch(cr.max, torch.amax, TIES)
    np.testing.assert_allclose(dx, G * [[0, 0.5, 0.5], [0, 0, 0], [0, 0, 0]])


def test_min_over_everything_splits_among_four_ties():
    (dx,), G = assert_matches_torch(cr.min, torch.amin, TIES)
    np.testing.assert_allclose(dx, G * [[0, 0, 0], [0, 0, 0.25], [0.25, 0.25, 0.25]])


@pytest.mark.parametrize("keepdims", [False, True])
def test_max_along_an_axis_splits_each_row_among_its_ties(keepdims):
    (dx,), G = assert_matches_torch(lambda x: x.max(axis=1, keepdims=keepdims),
                                    lambda x: x.amax(dim=1, keepdim=keepdims), TIES)
    share = [[0, 0.5, 0.5], [0.5, 0.5, 0], [THIRD, THIRD, THIRD]]
    np.testing.assert_allclose(dx, G.reshape(3, 1) * share)


def test_min_over_an_axis_tuple_splits_among_ties():
    x = np.stack([TIES, TIES + 1.0])
    (dx,), G = assert_matches_torch(lambda a: a.min(axis=(0, 2)), lambda a: a.amin(dim=(0, 2)), x)
    expected = np.zeros_like(x)
    expected[0, 0, 0] = G[0]
    expected[0, 1, 2] = G[1]
    expected[0, 2, :] = G[2] / 3
    np.testing.assert_allclose(dx, expected)


def test_max_ties_split_in_float32_too():
    x = cr.tensor(TIES, dtype=np.float32, requires_grad=True)
    x.max().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [0, 0, 0], [0, 0, 0]])


def test_maximum_and_minimum_split_ties_in_half():
    a = np.array([1.0, 2.0, 3.0, 2.0])
    b = np.array([2.0, 2.0, 1.0, 2.0])
    (da, db), G = assert_matches_torch(cr.maximum, torch.maximum, a, b)
    np.testing.assert_allclose(da, G * [0, 0.5, 1, 0.5])
    np.testing.assert_allclose(db, G * [1, 0.5, 0, 0.5])
    (da, db), G = assert_matches_torch(cr.minimum, torch.minimum, a, b)
    np.testing.assert_allclose(da, G * [1, 0.5, 0, 0.5])
    np.testing.assert_allclose(db, G * [0, 0.5, 1, 0.5])


def test_maximum_tie_with_a_broadcast_operand_sums_the_halves():
    a = np.array([[2.0, 1.0], [2.0, 3.0]])
    b = np.array([2.0])
    (da, db), G = assert_matches_torch(cr.maximum, torch.maximum, a, b)
    np.testing.assert_allclose(da, G * [[0.5, 0], [0.5, 1]])
    np.testing.assert_allclose(db, [0.5 * G[0, 0] + G[0, 1] + 0.5 * G[1, 0]])


def test_clip_passes_the_gradient_at_its_bounds():
    x = np.array([-1.0, -0.5, 0.0, 0.7, 1.0])
    (dx,), G = assert_matches_torch(lambda a: cr.clip(a, -0.5, 0.7), lambda a: a.clamp(-0.5, 0.7), x)
    np.testing.assert_allclose(dx, G * [0, 1, 1, 1, 0])


# -- numerical edges ---------------------------------------------------------------
HUGE = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])


def test_sigmoid_saturates_without_overflow():
    with np.errstate(over="raise", under="ignore"):
        (dx,), G = assert_matches_torch(cr.sigmoid, torch.sigmoid, HUGE)
    np.testing.assert_allclose(dx[[0, 2, 4]], [0.0, 0.25 * G[2], 0.0])


def test_softplus_is_linear_beyond_its_threshold():
    with np.errstate(over="raise", under="ignore"):
        (dx,), G = assert_matches_torch(cr.softplus, torch.nn.functional.softplus, HUGE)
    np.testing.assert_allclose(dx[[0, 2, 4]], G[[0, 2, 4]] * [0.0, 0.5, 1.0])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_far_from_zero_is_relu(approximate):
    with np.errstate(over="raise", under="ignore"):
        (dx,), G = assert_matches_torch(lambda x: cr.gelu(x, approximate=approximate),
                                        lambda x: torch.nn.functional.gelu(x, approximate=approximate), HUGE)
    np.testing.assert_allclose(dx[[0, 4]], [0.0, G[4]])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_of_huge_logits_is_finite(name):
    logits = np.array([[1000.0, 999.0, -1000.0], [-5e4, -5e4, -5e4]])
    with np.errstate(over="raise", under="ignore"):
        assert_matches_torch(getattr(cr, name), lambda z: getattr(torch, name)(z, dim=-1), logits)


def test_logsumexp_of_huge_and_infinite_inputs_matches_torch():
    x = np.array([[1000.0, 1000.0, -np.inf], [-1e4, 3.0, 2.0]])
    with np.errstate(over="raise", under="ignore"):
        (dx,), G = assert_matches_torch(lambda a: a.logsumexp(axis=1), lambda a: a.logsumexp(dim=1), x)
    np.testing.assert_allclose(dx[0], G[0] * np.array([0.5, 0.5, 0.0]))
    y = cr.logsumexp(cr.tensor([-np.inf, -np.inf], dtype=np.float64))
    assert y.item() == -np.inf == torch.logsumexp(torch.tensor([-np.inf, -np.inf]), 0).item()


# -- pow at exponent 0 and base 0: PyTorch's conventions, which are the limits ----------------------
@pytest.mark.parametrize("exponent", [0.0, 0])
def test_x_to_the_zero_has_zero_gradient_even_at_zero(exponent):
    (dx,), _ = assert_matches_torch(lambda x: x ** exponent, lambda x: x ** exponent, X)
    np.testing.assert_array_equal(dx, [0.0, 0.0, 0.0])


def test_x_to_a_zero_tensor_exponent_has_zero_gradient_in_x_even_at_zero():
    (dx, de), G = assert_matches_torch(lambda x, e: x ** e, lambda x, e: x ** e, X, np.zeros(3))
    np.testing.assert_array_equal(dx, [0.0, 0.0, 0.0])
    # de = dy·y·ln x: nan for x < 0 (as torch), 0 at x = 0 with e ≥ 0, ln 2 at x = 2 (y = 1)
    assert np.isnan(de[0]) and de[1] == 0.0
    np.testing.assert_allclose(de[2], G[2] * np.log(2.0), rtol=1e-15)


def test_the_exponents_gradient_at_a_zero_base_is_zero_for_non_negative_exponents():
    e = np.array([0.0, 1.0, 2.5])
    (dx, de), G = assert_matches_torch(lambda x, e: x ** e, lambda x, e: x ** e, np.zeros(3), e)
    np.testing.assert_array_equal(de, [0.0, 0.0, 0.0])
    np.testing.assert_allclose(dx, G * [0.0, 1.0, 0.0])  # e·x^(e−1): 0, 1, 0 at x = 0


def test_a_zero_number_to_a_tensor_power():
    e = cr.tensor(np.array([0.0, 1.0, 3.0]), requires_grad=True)
    (0.0 ** e).backward(np.ones(3))
    t = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64, requires_grad=True)
    (0.0 ** t).backward(torch.ones(3, dtype=torch.float64))
    np.testing.assert_array_equal(e.grad, t.grad.numpy())
    np.testing.assert_array_equal(e.grad, [0.0, 0.0, 0.0])
