"""Convolution and pooling beyond the op cases: max-pool ties, NaN and −inf against
PyTorch with exact values, float32 at CNN-like sizes, the by-hand Function style,
skipped work, a second backward, and the error messages for bad shapes."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError
from chainrule.ops import conv as conv_module

torch = pytest.importorskip("torch")
F = torch.nn.functional
rng = np.random.default_rng(5)


def _max_pool_grads(x, dy, **kwargs):
    """max_pool2d forward and input gradient in chainrule and in PyTorch."""
    ours = cr.tensor(x, requires_grad=True, dtype=x.dtype)
    y = cr.max_pool2d(ours, **kwargs)
    y.backward(dy)
    theirs = torch.tensor(x, requires_grad=True)
    ref = F.max_pool2d(theirs, **kwargs)
    ref.backward(torch.tensor(dy))
    return y.numpy(), ours.grad, ref.detach().numpy(), theirs.grad.numpy()


def _integer_upstream(shape, dtype):
    """Whole-number upstream gradients: their sums are exact, so results compare exactly."""
    return rng.integers(1, 9, shape).astype(dtype)


TIES = {
    "all equal": (np.zeros((1, 2, 4, 4)), dict(kernel_size=2)),
    "plateaus, overlapping, padded": (rng.integers(0, 3, (2, 2, 6, 5)).astype(float),
                                      dict(kernel_size=3, stride=1, padding=1)),
    "plateaus, stride 2": (rng.integers(0, 2, (1, 3, 7, 7)).astype(float), dict(kernel_size=3, stride=2, padding=1)),
    "negative ties beside padding": (-np.ones((1, 1, 5, 5)), dict(kernel_size=3, stride=2, padding=1)),
    "all -inf": (np.full((1, 1, 4, 5), -np.inf), dict(kernel_size=3, stride=2, padding=1)),
    "non-square": (rng.integers(0, 2, (1, 2, 5, 6)).astype(float), dict(kernel_size=(2, 3), stride=(1, 2),
                                                                          padding=(1, 1))),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", TIES)
def test_max_pool_ties_go_where_pytorch_sends_them(name, dtype):
    x, kwargs = TIES[name]
    x = x.astype(dtype)
    dy = _integer_upstream(F.max_pool2d(torch.tensor(x), **kwargs).shape, dtype)
    y, dx, ref_y, ref_dx = _max_pool_grads(x, dy, **kwargs)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(dx, ref_dx)
    assert dx.dtype == dtype


def test_max_pool_nan_wins_like_pytorch():
    x = rng.standard_normal((1, 2, 5, 5))
    x[0, 0, 1, 1] = x[0, 0, 1, 2] = x[0, 1, 4, 4] = np.nan
    dy = _integer_upstream((1, 2, 3, 3), np.float64)
    y, dx, ref_y, ref_dx = _max_pool_grads(x, dy, kernel_size=3, stride=2, padding=1)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(dx, ref_dx)


def test_max_pool_sends_non_finite_upstream_gradients_only_to_the_maxima():
    x = rng.standard_normal((1, 2, 4, 4))
    dy = _integer_upstream((1, 2, 2, 2), np.float64)
    dy[0, 0, 0, 1], dy[0, 1, 1, 0] = np.nan, np.inf
    _, dx, _, ref_dx = _max_pool_grads(x, dy, kernel_size=2)
    np.testing.assert_array_equal(dx, ref_dx)


def test_max_pool_without_a_graph_gives_the_same_values():
    x = rng.standard_normal((2, 3, 7, 6))
    x[0, 0, :3, :3] = -np.inf
    x[1, 2, 2, 2] = np.nan
    with cr.no_grad():
        fast = cr.max_pool2d(cr.tensor(x), 3, stride=2, padding=1).numpy()
    np.testing.assert_array_equal(fast, F.max_pool2d(torch.tensor(x), 3, stride=2, padding=1).numpy())
    np.testing.assert_array_equal(fast, cr.max_pool2d(cr.tensor(x, requires_grad=True), 3, stride=2, padding=1).numpy())


CNN_SHAPES = [
    ((4, 8, 12, 12), (16, 8, 3, 3), dict(padding=1)),
    ((4, 8, 11, 12), (16, 8, 3, 3), dict(stride=2, padding=1)),
    ((3, 8, 10, 9), (8, 2, 3, 3), dict(groups=4, padding=(1, 2), dilation=(1, 2))),
    ((2, 6, 9, 9), (6, 1, 5, 5), dict(groups=6, padding=2)),
]


@pytest.mark.parametrize("x_shape, w_shape, kwargs", CNN_SHAPES)
def test_conv2d_float32_matches_pytorch(x_shape, w_shape, kwargs):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32) * 0.2
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    tensors = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = cr.conv2d(*tensors, **kwargs)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(dy)
    refs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    ref = F.conv2d(*refs, **kwargs)
    ref.backward(torch.tensor(dy))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-4)
    for t, r in zip(tensors, refs):
        assert t.grad.dtype == np.float32
        np.testing.assert_allclose(t.grad, r.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_conv2d_by_hand_matches_pytorch():
    x, w, b = rng.standard_normal((2, 3, 7, 5)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    f = cr.ops.Conv2d(stride=2, padding=1, dilation=(2, 1))
    y = f.forward(x, w, b)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = f.backward(dy)
    refs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    ref = F.conv2d(*refs, stride=2, padding=1, dilation=(2, 1))
    ref.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, ref.detach().numpy(), rtol=1e-12)
    for ours, r in zip((dx, dw, db), refs):
        np.testing.assert_allclose(ours, r.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv2d_skips_dx_for_an_input_that_takes_no_gradient(monkeypatch):
    x, w = rng.standard_normal((2, 1, 6, 6)), rng.standard_normal((3, 1, 3, 3))
    weight = cr.tensor(w, requires_grad=True)
    y = cr.conv2d(cr.tensor(x), weight, padding=1)

    def refuse(*args):
        raise AssertionError("col2im ran although the input needs no gradient")

    monkeypatch.setattr(conv_module, "col2im", refuse)
    dy = rng.standard_normal(y.shape)
    y.backward(dy)
    ref_w = torch.tensor(w, requires_grad=True)
    F.conv2d(torch.tensor(x), ref_w, padding=1).backward(torch.tensor(dy))
    np.testing.assert_allclose(weight.grad, ref_w.grad.numpy(), rtol=1e-10)


def test_conv2d_skips_the_columns_for_a_frozen_weight(monkeypatch):
    x, w = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    ours = cr.tensor(x, requires_grad=True)
    y = cr.conv2d(ours, cr.tensor(w), stride=2)

    def refuse(*args):
        raise AssertionError("im2col ran in backward although the weight needs no gradient")

    monkeypatch.setattr(conv_module, "im2col", refuse)
    dy = rng.standard_normal(y.shape)
    y.backward(dy)
    ref_x = torch.tensor(x, requires_grad=True)
    F.conv2d(ref_x, torch.tensor(w), stride=2).backward(torch.tensor(dy))
    np.testing.assert_allclose(ours.grad, ref_x.grad.numpy(), rtol=1e-10)


def test_conv2d_backward_twice_with_retain_graph():
    x, w = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 2, 2))
    tensors = [cr.tensor(a, requires_grad=True) for a in (x, w)]
    y = cr.conv2d(*tensors, padding=1)
    dy = rng.standard_normal(y.shape)
    y.backward(dy, retain_graph=True)
    first = [t.grad.copy() for t in tensors]
    y.backward(dy)
    for t, g in zip(tensors, first):
        np.testing.assert_allclose(t.grad, 2 * g, rtol=1e-12)


def test_conv2d_on_an_empty_batch():
    y = cr.conv2d(cr.zeros(0, 2, 5, 5, requires_grad=True), cr.ones(3, 2, 3, 3), padding=1)
    assert y.shape == (0, 3, 5, 5)


def test_dropout2d_zeroes_whole_channels():
    x = cr.ones(8, 16, 3, 3)
    y = cr.dropout2d(x, 0.5, generator=np.random.default_rng(0)).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))
    assert set(np.unique(y)) == {0.0, 2.0}
    assert cr.dropout2d(x, 0.5, training=False) is x


def _conv(x_shape, w_shape, b_shape=None, x_dtype=np.float64, **kwargs):
    bias = None if b_shape is None else cr.zeros(*b_shape, dtype=np.float64)
    return cr.conv2d(cr.zeros(*x_shape, dtype=x_dtype), cr.zeros(*w_shape, dtype=np.float64), bias, **kwargs)


@pytest.mark.parametrize("call, message", [
    (lambda: _conv((3, 5, 5), (4, 3, 3, 3)), r"conv2d: expected input \(N, C, H, W\), got shape \(3, 5, 5\)"),
    (lambda: _conv((1, 3, 5, 5), (4, 3, 3)), r"conv2d: expected weight \(C_out, C_in/groups, kH, kW\), got shape"),
    (lambda: _conv((1, 3, 5, 5), (4, 2, 3, 3)),
     r"conv2d: expected input \(N, 2, H, W\) for weight \(4, 2, 3, 3\) with groups=1, got \(1, 3, 5, 5\)"),
    (lambda: _conv((1, 3, 5, 5), (4, 1, 3, 3), groups=2), r"conv2d: C_in=3 is not divisible by groups=2"),
    (lambda: _conv((1, 4, 5, 5), (3, 2, 3, 3), groups=2), r"conv2d: C_out=3 is not divisible by groups=2"),
    (lambda: _conv((1, 3, 5, 5), (4, 3, 3, 3), (3,)), r"conv2d: expected bias \(4,\) for weight .*, got bias \(3,\)"),
    (lambda: _conv((1, 3, 5, 5), (4, 3, 3, 3), x_dtype=np.float32),
     r"conv2d: weight dtype float64 differs from input dtype float32"),
    (lambda: _conv((1, 3, 4, 4), (4, 3, 3, 3), dilation=2),
     r"conv2d: expected H ≥ 5 for a window of 5 pixels \(kernel 3, dilation 2\) with padding 0, "
     r"got an input of spatial size \(4, 4\)"),
    (lambda: cr.max_pool2d(cr.zeros(2, 3, 4), 2), r"max_pool2d: expected input \(N, C, H, W\), got shape \(2, 3, 4\)"),
    (lambda: cr.avg_pool2d(cr.zeros(1, 1, 2, 5), 3), r"avg_pool2d: expected H ≥ 3 for a window of 3 pixels"),
    (lambda: cr.adaptive_avg_pool2d(cr.zeros(4, 3), 1), r"adaptive_avg_pool2d: expected input \(N, C, H, W\)"),
    (lambda: cr.dropout2d(cr.zeros(4, 3), 0.5), r"dropout2d: expected input \(N, C, H, W\), got shape \(4, 3\)"),
])
def test_bad_shapes_raise_shape_error_naming_the_op(call, message):
    with pytest.raises(ShapeError, match=message):
        call()


@pytest.mark.parametrize("call, message", [
    (lambda: cr.ops.Conv2d(stride=0), r"conv2d: stride must be at least 1, got 0"),
    (lambda: cr.ops.Conv2d(padding=(1, -1)), r"conv2d: padding must be at least 0"),
    (lambda: cr.ops.Conv2d(dilation=(1, 2, 3)), r"conv2d: dilation must be an int or a pair of ints"),
    (lambda: cr.ops.Conv2d(groups=0), r"conv2d: groups must be a positive int"),
    (lambda: cr.ops.MaxPool2d(3, padding=2), r"max_pool2d: padding \(2, 2\) must be at most half the kernel size"),
    (lambda: cr.ops.AvgPool2d(0), r"avg_pool2d: kernel_size must be at least 1"),
    (lambda: cr.ops.AdaptiveAvgPool2d(2), r"adaptive_avg_pool2d: only output_size=1 .* is supported, got 2"),
    (lambda: cr.ops.Dropout2d(1.5, np.random.default_rng()), r"dropout2d: p must be in \[0, 1\], got 1.5"),
])
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
