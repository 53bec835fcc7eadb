"""Property tests: random shapes, broadcasts, axes and values, checked against PyTorch.

Hypothesis draws the shapes (including size-1 and empty axes and mutual
broadcasts), the axis tuples (negative, unordered) and the values; each example
compares the forward value and the gradient of ⟨G, f(x…)⟩ for a random G with
PyTorch autograd in float64. Values may land exactly on a kink or a tie: there
the conventions must agree with PyTorch's too.
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule import ops
from chainrule.ops import activations

torch = pytest.importorskip("torch")

SETTINGS = settings(max_examples=40, deadline=None)


def arrays(shape, low=-3.0, high=3.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False, allow_infinity=False))


def assert_matches_torch(cr_fn, torch_fn, *inputs, rtol=1e-9, atol=1e-12):
    """Forward values and input gradients of ⟨G, f(x…)⟩ agree with PyTorch (float64)."""
    xs = [cr.tensor(a, dtype=np.float64, requires_grad=True) for a in inputs]
    out = cr_fn(*xs)
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    ref = torch_fn(*ts)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=atol)
    G = np.random.default_rng(out.size).standard_normal(out.shape)
    out.backward(G)
    ref.backward(torch.tensor(G))
    for i, (x, t) in enumerate(zip(xs, ts)):
        expected = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        np.testing.assert_allclose(x.grad, expected, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")


# -- elementwise -------------------------------------------------------------------
POSITIVE = (0.1, 4.0)
ANY = (-3.0, 3.0)
WIDE = (-30.0, 30.0)

BINARY = {
    "add": (cr.add, torch.add, ANY, ANY),
    "sub": (cr.sub, torch.sub, ANY, ANY),
    "mul": (cr.mul, torch.mul, ANY, ANY),
    "div": (cr.div, torch.div, ANY, POSITIVE),
    "pow": (cr.pow, torch.pow, POSITIVE, ANY),
    "maximum": (cr.maximum, torch.maximum, ANY, ANY),
    "minimum": (cr.minimum, torch.minimum, ANY, ANY),
    "where": (lambda a, b: cr.where(a.data > b.data, a * b, b), lambda a, b: torch.where(a > b, a * b, b), ANY, ANY),
}

UNARY = {
    "neg": (cr.neg, torch.neg, ANY),
    "exp": (cr.exp, torch.exp, ANY),
    "log": (cr.log, torch.log, POSITIVE),
    "sqrt": (cr.sqrt, torch.sqrt, POSITIVE),
    "abs": (cr.abs, torch.abs, ANY),
    "pow_scalar": (lambda a: a**3, lambda a: a**3, ANY),
    "clip": (lambda a: cr.clip(a, -1.0, 0.5), lambda a: a.clamp(-1.0, 0.5), ANY),
    "relu": (cr.relu, torch.relu, ANY),
    "leaky_relu": (lambda a: cr.leaky_relu(a, 0.1), lambda a: torch.nn.functional.leaky_relu(a, 0.1), ANY),
    "sigmoid": (cr.sigmoid, torch.sigmoid, WIDE),
    "tanh": (cr.tanh, torch.tanh, WIDE),
    "gelu": (cr.gelu, torch.nn.functional.gelu, WIDE),
    "gelu_tanh": (lambda a: cr.gelu(a, approximate="tanh"),
                  lambda a: torch.nn.functional.gelu(a, approximate="tanh"), WIDE),
    "softplus": (lambda a: cr.softplus(a, beta=2.0, threshold=10.0),
                 lambda a: torch.nn.functional.softplus(a, beta=2.0, threshold=10.0), WIDE),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(data=st.data())
def test_binary_ops_broadcast_like_torch(name, data):
    cr_fn, torch_fn, a_range, b_range = BINARY[name]
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4))
    a = data.draw(arrays(shapes.input_shapes[0], *a_range))
    b = data.draw(arrays(shapes.input_shapes[1], *b_range))
    assert_matches_torch(cr_fn, torch_fn, a, b)


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(data=st.data())
def test_unary_ops_match_torch(name, data):
    cr_fn, torch_fn, value_range = UNARY[name]
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    assert_matches_torch(cr_fn, torch_fn, data.draw(arrays(shape, *value_range)))


# -- reductions --------------------------------------------------------------------
@st.composite
def shape_and_axis(draw, min_side=1):
    """A shape and an axis for it: None, or a non-empty tuple of distinct axes in any
    order, each possibly negative (an empty tuple means "every axis" to PyTorch but
    "no axis" to NumPy, so it is left out)."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=min_side, max_side=4))
    ndim = len(shape)
    if draw(st.booleans()):
        return shape, None
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return shape, tuple(a - ndim if draw(st.booleans()) else a for a in axes)


def _dims(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


REDUCTIONS = {
    "sum": (lambda x, axis, k: x.sum(axis=axis, keepdims=k), lambda t, dims, k: t.sum(dim=dims, keepdim=k)),
    "mean": (lambda x, axis, k: x.mean(axis=axis, keepdims=k), lambda t, dims, k: t.mean(dim=dims, keepdim=k)),
    "max": (lambda x, axis, k: x.max(axis=axis, keepdims=k), lambda t, dims, k: t.amax(dim=dims, keepdim=k)),
    "min": (lambda x, axis, k: x.min(axis=axis, keepdims=k), lambda t, dims, k: t.amin(dim=dims, keepdim=k)),
    "logsumexp": (lambda x, axis, k: x.logsumexp(axis=axis, keepdims=k),
                  lambda t, dims, k: t.logsumexp(dim=dims, keepdim=k)),
    "var": (lambda x, axis, k: x.var(axis=axis, keepdims=k), lambda t, dims, k: t.var(dim=dims, keepdim=k)),
    "var_population": (lambda x, axis, k: x.var(axis=axis, keepdims=k, correction=0),
                       lambda t, dims, k: t.var(dim=dims, keepdim=k, correction=0)),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@SETTINGS
@given(data=st.data())
def test_reductions_over_random_axes_match_torch(name, data):
    cr_fn, torch_fn = REDUCTIONS[name]
    shape, axis = data.draw(shape_and_axis())
    keepdims = data.draw(st.booleans())
    if name == "var":
        assume(int(np.prod([shape[a] for a in _dims(axis, len(shape))])) > 1)
    x = data.draw(arrays(shape))
    assert_matches_torch(lambda t: cr_fn(t, axis, keepdims), lambda t: torch_fn(t, _dims(axis, t.ndim), keepdims), x)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@SETTINGS
@given(data=st.data())
def test_softmax_over_a_random_axis_matches_torch(name, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(arrays(shape, -50.0, 50.0))
    assert_matches_torch(lambda t: getattr(cr, name)(t, axis=axis), lambda t: getattr(torch, name)(t, dim=axis), x)


# -- matmul --------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_batched_matmul_broadcasts_like_torch(data):
    batch = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3))
    m, k, n = data.draw(st.tuples(st.integers(1, 4), st.integers(0, 4), st.integers(1, 4)))
    a_shape = (k,) if data.draw(st.booleans()) else batch.input_shapes[0] + (m, k)
    b_shape = (k,) if data.draw(st.booleans()) else batch.input_shapes[1] + (k, n)
    assert_matches_torch(cr.matmul, torch.matmul, data.draw(arrays(a_shape)), data.draw(arrays(b_shape)))


# -- joining, by hand and through the graph ----------------------------------------------
@pytest.mark.parametrize("name", ["concatenate", "stack"])
@SETTINGS
@given(data=st.data())
def test_joining_by_hand_gives_one_gradient_per_input(name, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
    count = data.draw(st.integers(1, 4))
    ndim = len(shape) + (name == "stack")
    axis = data.draw(st.integers(-ndim, ndim - 1))
    xs = [data.draw(arrays(shape)) for _ in range(count)]
    function, torch_join = (ops.Concatenate, torch.cat) if name == "concatenate" else (ops.Stack, torch.stack)
    function = function(axis)
    y = function.forward(*xs)
    G = np.random.default_rng(y.size).standard_normal(y.shape)
    by_hand = function.backward(G)
    assert len(by_hand) == count
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    reference = torch_join(ts, dim=axis)
    np.testing.assert_array_equal(y, reference.detach().numpy())
    reference.backward(torch.tensor(G))
    for dx, t in zip(by_hand, ts):
        np.testing.assert_array_equal(dx, t.grad.numpy())


# -- erf without SciPy -----------------------------------------------------------------
@SETTINGS
@given(x=hnp.arrays(st.sampled_from([np.float32, np.float64]), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0),
                    elements=st.floats(-6.0, 6.0, width=32)))
def test_erf_fallback_matches_torch_and_keeps_the_dtype(x):
    y = activations.erf_via_math(x)
    assert y.dtype == x.dtype and y.shape == x.shape
    expected = torch.special.erf(torch.tensor(x)).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-6 if x.dtype == np.float32 else 1e-14, atol=1e-7)


def test_exact_gelu_runs_on_the_erf_fallback(monkeypatch):
    monkeypatch.setattr(activations, "_numpy_erf", activations.erf_via_math)
    x = np.linspace(-5.0, 5.0, 41)
    assert_matches_torch(cr.gelu, torch.nn.functional.gelu, x)
