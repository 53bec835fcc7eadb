"""The graph engine: what ``Tensor.backward()`` promises (DESIGN.md, "The core contract").

Every expected value comes from an oracle: a closed form derived by hand, NumPy
arithmetic on the same arrays, or PyTorch autograd on the same graph.
"""
import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops

F64 = np.float64


def leaf(values, dtype=F64):
    return cr.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# -- custom Functions used as probes -------------------------------------------------
class Triple(cr.Function):
    """y = 3·a. Saves a private copy of ``a`` so a weakref can watch it die. a: S → y: S."""

    def forward(self, a):
        self.saved = a.copy()
        return 3.0 * a

    def backward(self, dy):
        # y = 3a  ⇒  da = 3·dy
        return (3.0 * dy,)


class SquaredDistance(cr.Function):
    """y = (a − b)², elementwise. a: S, b: S → y: S."""

    def forward(self, a, b):
        self.diff = a - b
        return self.diff * self.diff

    def backward(self, dy):
        # y = (a − b)²  ⇒  da = 2(a − b)·dy, db = −2(a − b)·dy
        da = 2.0 * self.diff * dy if self.needs_input_grad[0] else None
        db = -2.0 * self.diff * dy if self.needs_input_grad[1] else None
        return da, db


class UnreducedAdd(cr.Function):
    """y = a + b with broadcasting; backward leaves the reduction to the engine."""

    def forward(self, a, b):
        return a + b

    def backward(self, dy):
        # y = a + b  ⇒  da = db = dy, still of the broadcast shape
        return dy, dy


class NeedsRecorder(cr.Function):
    """y = a·b; records ``needs_input_grad`` as forward and backward see it."""

    def __init__(self, log: list):
        self.log = log

    def forward(self, a, b):
        self.log.append(("forward", bool(self.needs_input_grad[0]), bool(self.needs_input_grad[1])))
        self.a, self.b = a, b
        return a * b

    def backward(self, dy):
        # y = a·b  ⇒  da = dy·b, db = dy·a
        need = self.needs_input_grad
        self.log.append(("backward", bool(need[0]), bool(need[1])))
        return (dy * self.b if need[0] else None), (dy * self.a if need[1] else None)


def function_returning(*grads):
    """A one-input identity Function whose backward returns ``grads`` verbatim."""

    class Broken(cr.Function):
        def forward(self, a):
            return a.copy()

        def backward(self, dy):
            return grads if len(grads) != 1 else grads[0]

    return Broken


# -- long chains -----------------------------------------------------------------------
def test_chain_of_100000_ops_backpropagates_without_recursion():
    x = leaf(1.0)
    rate = 1.00001
    y = x
    for _ in range(100_000):
        y = y * rate
    y.backward()
    # y = x·rate^N  ⇒  dy/dx = rate^N
    assert y.item() == pytest.approx(rate**100_000, rel=1e-9)
    assert x.grad == pytest.approx(rate**100_000, rel=1e-9)


def test_dropping_an_unused_chain_of_100000_ops_frees_it():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    last_node = weakref.ref(y.creator)
    del y
    assert last_node() is None


# -- tensors used more than once ----------------------------------------------------
def test_gradients_of_a_tensor_used_twice_by_one_op_are_summed():
    x = leaf([0.5, -1.5, 2.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data, rtol=1e-15)

    z = leaf([0.5, -1.5, 2.0])
    SquaredDistance()(z, z).sum().backward()  # (z − z)² ≡ 0
    np.testing.assert_array_equal(z.grad, np.zeros(3))


def test_diamond_graph_sums_both_branches():
    x = leaf([0.3, -0.7, 1.1])
    y = cr.exp(x)
    z = (y * 2.0 + y * y).sum()
    z.backward()
    # z = Σ 2eˣ + e²ˣ  ⇒  dz/dx = 2eˣ + 2e²ˣ
    e = np.exp(x.data)
    np.testing.assert_allclose(x.grad, 2 * e + 2 * e * e, rtol=1e-14)


@pytest.mark.parametrize("long_first", [True, False])
def test_short_and_long_paths_to_one_node_both_arrive_before_it_runs(long_first):
    x = leaf([1.0, -2.0])
    y = x * 2.0
    long = y
    for _ in range(30):
        long = long * 1.5
    z = (long + y) if long_first else (y + long)
    z.sum().backward()
    # z = 2x·(1.5³⁰ + 1)  ⇒  dz/dx = 2·(1.5³⁰ + 1)
    np.testing.assert_allclose(x.grad, np.full(2, 2 * (1.5**30 + 1)), rtol=1e-13)


def test_shared_subgraph_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a0, w0 = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    G = rng.standard_normal((4, 3))

    def graph(a, w, lib):
        h = (a @ w).relu() if lib is cr else torch.relu(a @ w)
        return h * a + (h @ w) * h - a

    a, w = leaf(a0), leaf(w0)
    graph(a, w, cr).backward(G)
    ta = torch.tensor(a0, requires_grad=True)
    tw = torch.tensor(w0, requires_grad=True)
    graph(ta, tw, torch).backward(torch.tensor(G))
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12, atol=1e-14)


# -- what the engine checks and fixes in a gradient ------------------------------------
def test_engine_sums_a_broadcast_shaped_gradient_over_broadcast_axes():
    rng = np.random.default_rng(2)
    a, b = leaf(rng.standard_normal((3, 1, 5))), leaf(rng.standard_normal((4, 5)))
    G = rng.standard_normal((3, 4, 5))
    UnreducedAdd()(a, b).backward(G)
    np.testing.assert_allclose(a.grad, G.sum(axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(b.grad, G.sum(axis=0), rtol=1e-14)


def test_gradient_that_cannot_be_reduced_names_the_op_and_shapes():
    broken = function_returning(np.ones((2, 2)))
    x = leaf([1.0, 2.0, 3.0])
    y = broken()(x).sum()
    with pytest.raises(RuntimeError, match=r"Broken\.backward.*\(2, 2\).*\(3,\)"):
        y.backward()


def test_gradient_of_the_wrong_dtype_names_the_op_and_dtypes():
    broken = function_returning(np.ones(3, dtype=np.float32))
    x = leaf([1.0, 2.0, 3.0])
    y = broken()(x).sum()
    with pytest.raises(TypeError, match=r"Broken\.backward.*float32.*float64"):
        y.backward()


def test_wrong_number_of_gradients_names_the_op_and_counts():
    broken = function_returning(np.ones(3), np.ones(3))
    x = leaf([1.0, 2.0, 3.0])
    y = broken()(x).sum()
    with pytest.raises(RuntimeError, match=r"Broken\.backward returned 2 gradients for 1 inputs"):
        y.backward()


def test_backward_on_a_non_scalar_needs_an_explicit_gradient():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"one element.*\(2, 2\).*gradient="):
        y.backward()
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 2\)"):
        y.backward(np.ones(3))
    y.backward(np.full((2, 2), 0.5))
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 1.0))


def test_upstream_gradient_of_another_dtype_is_cast_like_torch():
    x = leaf([1.0, 2.0], dtype=np.float32)
    for upstream in (np.array([0.5, 2.0]), cr.tensor([0.5, 2.0], dtype=F64)):
        x.grad = None
        cr.exp(x).backward(upstream)
        assert x.grad.dtype == np.float32
        np.testing.assert_allclose(x.grad, np.exp(x.data) * [0.5, 2.0], rtol=1e-6)


def test_backward_on_a_tensor_that_does_not_require_grad_says_why():
    with pytest.raises(RuntimeError, match="requires_grad"):
        (cr.tensor([1.0, 2.0]) * 2.0).sum().backward()


# -- saved arrays are freed after use -------------------------------------------------
def test_saved_arrays_are_released_once_the_node_has_run():
    x = leaf([1.0, 2.0])
    y = Triple()(x)
    saved = weakref.ref(y.creator.saved)
    loss = y.sum()
    assert saved() is not None
    loss.backward()
    assert saved() is None
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_retain_graph_keeps_saved_arrays_and_a_second_backward_accumulates():
    x = leaf([1.0, 2.0])
    y = Triple()(x)
    saved = weakref.ref(y.creator.saved)
    loss = (y * y).sum()
    loss.backward(retain_graph=True)
    assert saved() is not None
    loss.backward(retain_graph=True)
    # loss = Σ 9x²  ⇒  dloss/dx = 18x, twice
    np.testing.assert_allclose(x.grad, 2 * 18 * x.data, rtol=1e-15)
    loss.backward()
    assert saved() is None
    np.testing.assert_allclose(x.grad, 3 * 18 * x.data, rtol=1e-15)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_second_backward_through_a_freed_graph_mentions_retain_graph():
    x = leaf([1.0, 2.0])
    loss = cr.exp(x * 2.0).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        loss.backward()


def test_backward_into_a_subgraph_freed_by_another_loss_names_the_node():
    x = leaf([1.0, 2.0])
    shared = cr.exp(x)
    first, second = shared.sum(), (shared * 2.0).sum()
    first.backward()
    with pytest.raises(RuntimeError, match=r"Exp a second time.*retain_graph"):
        second.backward()


def test_intermediate_tensors_die_during_backward_while_the_loss_lives():
    gc.disable()
    try:
        x = leaf([0.5, 1.5])
        h = cr.exp(x)
        r = h * h
        watched = [weakref.ref(t) for t in (h, r)] + [weakref.ref(h.creator), weakref.ref(r.creator)]
        loss = r.sum()
        del h, r
        assert all(ref() is not None for ref in watched)
        loss.backward()
        assert [ref() for ref in watched] == [None] * len(watched)
    finally:
        gc.enable()


# -- no_grad / enable_grad -----------------------------------------------------------
def test_no_grad_context_records_nothing_and_enable_grad_turns_it_back_on():
    x = leaf([1.0, 2.0])
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = x * 2.0
        with cr.enable_grad():
            z = x * 3.0
        w = x * 4.0
    assert cr.is_grad_enabled()
    for t in (y, w):
        assert not t.requires_grad and t.creator is None
    np.testing.assert_array_equal(y.data, [2.0, 4.0])
    assert z.requires_grad and isinstance(z.creator, ops.Mul)
    z.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_no_grad_as_a_decorator_and_enable_grad_inside():
    x = leaf([1.0, 2.0])

    @cr.no_grad()
    def frozen(t):
        return t * 2.0, tracked(t)

    @cr.enable_grad()
    def tracked(t):
        return t * 5.0

    y, z = frozen(x)
    assert cr.is_grad_enabled()
    assert y.creator is None and not y.requires_grad
    assert z.requires_grad
    z.sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_grad_mode_is_restored_after_recursion_and_exceptions():
    @cr.no_grad()
    def countdown(n):
        if n:
            countdown(n - 1)
        return cr.is_grad_enabled()

    assert countdown(3) is False
    assert cr.is_grad_enabled()

    with pytest.raises(ZeroDivisionError):
        with cr.no_grad():
            1 / 0
    assert cr.is_grad_enabled()


# -- a forward pass that is never backpropagated leaks nothing ---------------------------
def _forward_and_watch(x, weight, bias):
    """A small network; weakrefs to every non-leaf Tensor, Function and saved array."""
    h = cr.linear(x, weight, bias)
    a = h.relu()
    a.retain_grad()
    t = Triple()(a)
    e = cr.exp(t)
    loss = (e * e).mean()
    nodes = [h, a, t, e, loss]
    functions = [n.creator for n in nodes]
    leaves = {id(x.data), id(weight.data), id(bias.data)}
    saved = [v for f in functions for v in vars(f).values()
             if isinstance(v, np.ndarray) and id(v) not in leaves]
    assert any(s is functions[2].saved for s in saved)
    refs = [weakref.ref(o) for o in (*nodes[:-1], *functions, *saved)]
    return loss, refs


def test_a_forward_pass_never_backpropagated_leaks_nothing():
    rng = np.random.default_rng(3)
    x = cr.tensor(rng.standard_normal((4, 3)), dtype=np.float32)
    weight = cr.randn(2, 3, requires_grad=True, generator=rng)
    bias = cr.zeros(2, requires_grad=True)
    gc.disable()
    try:
        loss, refs = _forward_and_watch(x, weight, bias)
        assert all(ref() is not None for ref in refs)
        del loss
        alive = [ref() for ref in refs if ref() is not None]
        assert alive == []
    finally:
        gc.enable()


# -- needs_input_grad -------------------------------------------------------------------
def test_needs_input_grad_tells_forward_and_backward_which_inputs_want_gradients():
    x, c = leaf([1.0, 2.0]), cr.tensor(np.array([3.0, 4.0]))
    log = []
    NeedsRecorder(log)(x, c).sum().backward()
    NeedsRecorder(log)(c, x).sum().backward()
    assert log == [("forward", True, False), ("backward", True, False),
                   ("forward", False, True), ("backward", False, True)]
    # x·c twice: dx = 2c
    np.testing.assert_array_equal(x.grad, 2 * c.data)
    assert c.grad is None


def test_needs_input_grad_is_all_false_under_no_grad_and_all_true_by_hand():
    x = leaf([1.0, 2.0])
    log = []
    with cr.no_grad():
        NeedsRecorder(log)(x, x)
    by_hand = NeedsRecorder(log)
    by_hand.forward(x.data, x.data)
    by_hand.backward(np.ones(2))
    assert log == [("forward", False, False), ("forward", True, True), ("backward", True, True)]


# -- retain_grad, detach, accumulation ----------------------------------------------------
def test_retain_grad_keeps_the_gradient_of_a_non_leaf():
    x = leaf([1.0, -2.0, 0.5])
    y = x * 2.0
    y.retain_grad()
    other = x * 4.0
    (y * y + y).sum().backward()
    # L = Σ y² + y  ⇒  dL/dy = 2y + 1, dL/dx = 2·(2y + 1)
    np.testing.assert_allclose(y.grad, 2 * y.data + 1, rtol=1e-15)
    np.testing.assert_allclose(x.grad, 2 * (2 * y.data + 1), rtol=1e-15)
    assert other.grad is None


def test_detach_shares_data_but_cuts_the_graph():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2.0
    d = y.detach()
    assert d.creator is None and not d.requires_grad
    assert np.shares_memory(d.data, y.data)
    (d * x).sum().backward()
    # d is a constant: d(d·x)/dx = d
    np.testing.assert_array_equal(x.grad, d.data)


def test_leaf_gradients_accumulate_across_backward_calls_like_torch():
    torch = pytest.importorskip("torch")
    x0 = np.array([0.2, -1.3, 0.8])
    x, tx = leaf(x0), torch.tensor(x0, requires_grad=True)
    for lib, t in ((cr, x), (torch, tx)):
        (lib.exp(t) * t).sum().backward()
        (t * t * t).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-14)
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(3, 3.0))


def test_leaf_gradients_are_private_writable_arrays():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    G = np.array([0.5, -0.5])
    (a + b).backward(G)
    a.grad += 1.0
    np.testing.assert_array_equal(b.grad, [0.5, -0.5])
    np.testing.assert_array_equal(G, [0.5, -0.5])

    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x.reshape(4)
    y.retain_grad()
    y.sum().backward()  # Sum's backward is a read-only broadcast; Reshape's a view of it
    x.grad *= 2.0
    y.grad[0] = 7.0
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 2.0))
    np.testing.assert_array_equal(y.grad, [7.0, 1.0, 1.0, 1.0])


# -- a user-defined Function ----------------------------------------------------------------
def test_custom_function_by_hand_and_on_the_graph_agree_with_builtin_ops_and_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a0, b0, G = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))

    by_hand = SquaredDistance()
    y_hand = by_hand.forward(a0, b0)
    da_hand, db_hand = by_hand.backward(G)

    a, b = leaf(a0), leaf(b0)
    y_graph = SquaredDistance()(a, b)
    y_graph.backward(G)

    a2, b2 = leaf(a0), leaf(b0)
    y_builtin = (a2 - b2) ** 2
    y_builtin.backward(G)

    ta, tb = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    ((ta - tb) ** 2).backward(torch.tensor(G))

    np.testing.assert_array_equal(y_graph.data, y_hand)
    np.testing.assert_array_equal(a.grad, da_hand)
    np.testing.assert_array_equal(b.grad, db_hand)
    for ours, ref in ((y_builtin.data, y_hand), (a2.grad, a.grad), (b2.grad, b.grad),
                      (ta.grad.numpy(), a.grad), (tb.grad.numpy(), b.grad)):
        np.testing.assert_allclose(ours, ref, rtol=1e-14)


def test_one_function_object_is_one_node():
    a, b = leaf([1.0, -1.0]), leaf([-2.0, 2.0])
    relu = ops.ReLU()
    y = relu(a)
    # A second call would overwrite what the first node saved: b's values would
    # silently drive a's gradient.
    with pytest.raises(RuntimeError, match=r"ReLU was already called on the graph.*new one"):
        relu(b)
    with cr.no_grad(), pytest.raises(RuntimeError, match="already called"):
        relu(b)
    (y * 1.0 + cr.relu(b) * 10.0).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 10.0])


def test_a_function_object_outside_the_graph_can_be_reused():
    relu = ops.ReLU()
    with cr.no_grad():
        assert relu(leaf([1.0, -1.0])).tolist() == [1.0, 0.0]
        assert relu(leaf([-3.0, 3.0])).tolist() == [0.0, 3.0]
    assert relu.forward(np.array([-1.0, 5.0])).tolist() == [0.0, 5.0]
    (dx,) = relu.backward(np.array([2.0, 2.0]))
    assert dx.tolist() == [0.0, 2.0]


def test_custom_function_mixes_with_builtin_ops_in_float32():
    x = leaf([0.1, -0.4, 0.9], dtype=np.float32)
    c = cr.tensor([0.5, 0.5, 0.5])
    loss = cr.exp(SquaredDistance()(x, c) * 2.0).sum()
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    # L = Σ exp(2(x − c)²)  ⇒  dL/dx = exp(2(x − c)²)·4(x − c)
    x64 = x.data.astype(F64)
    expected = np.exp(2 * (x64 - 0.5) ** 2) * 4 * (x64 - 0.5)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6)
