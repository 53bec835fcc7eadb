"""The convolutional layers against torch.nn with the same weights (float64 and
float32), their default initialisation, a small CNN end to end, and their errors."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError
from nn_reference import assert_same_as_torch

torch = pytest.importorskip("torch")
tnn = torch.nn

DTYPES = [np.float64, np.float32]
rng = np.random.default_rng(17)


def randn(*shape):
    return rng.standard_normal(shape)


CONV_LAYERS = [
    ((3, 4, 3), {}, (2, 3, 6, 5)),
    ((3, 4, (2, 3)), dict(stride=2, padding=1, bias=False), (2, 3, 7, 5)),
    ((4, 6, 3), dict(padding=(2, 1), dilation=2, groups=2), (2, 4, 7, 6)),
    ((4, 4, 3), dict(padding=1, groups=4), (1, 4, 5, 5)),
    ((2, 3, 1), dict(stride=(1, 2)), (3, 2, 4, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("args, kwargs, x_shape", CONV_LAYERS, ids=str)
def test_conv2d(args, kwargs, x_shape, dtype):
    assert_same_as_torch(nn.Conv2d(*args, **kwargs, dtype=dtype), tnn.Conv2d(*args, **kwargs), randn(*x_shape), dtype)


POOL_LAYERS = [
    (nn.MaxPool2d, tnn.MaxPool2d, (2,), {}),
    (nn.MaxPool2d, tnn.MaxPool2d, (3,), dict(stride=2, padding=1)),
    (nn.AvgPool2d, tnn.AvgPool2d, ((2, 3),), dict(stride=1)),
    (nn.AvgPool2d, tnn.AvgPool2d, (3,), dict(stride=2, padding=1, count_include_pad=False)),
    (nn.AdaptiveAvgPool2d, tnn.AdaptiveAvgPool2d, (1,), {}),
    (nn.AdaptiveAvgPool2d, tnn.AdaptiveAvgPool2d, ((1, 1),), {}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ours, theirs, args, kwargs", POOL_LAYERS, ids=str)
def test_pooling(ours, theirs, args, kwargs, dtype):
    assert_same_as_torch(ours(*args, **kwargs), theirs(*args, **kwargs), randn(2, 3, 7, 6), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("train", [True, False])
def test_small_cnn(dtype, train):
    ours = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, dtype=dtype), nn.BatchNorm2d(4, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, padding=1, dtype=dtype), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 8, 1, dtype=dtype), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3, dtype=dtype),
    )
    theirs = tnn.Sequential(
        tnn.Conv2d(1, 4, 3, padding=1), tnn.BatchNorm2d(4), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(4, 6, 3, stride=2, padding=1), tnn.ReLU(), tnn.AvgPool2d(2),
        tnn.Conv2d(6, 8, 1), tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(8, 3),
    )
    assert_same_as_torch(ours, theirs, randn(4, 1, 12, 12), dtype, train=train, steps=2)


def test_conv2d_state_dict_names_and_shapes_are_pytorchs():
    ours = nn.Conv2d(6, 8, (3, 5), groups=2)
    theirs = tnn.Conv2d(6, 8, (3, 5), groups=2)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in
                                                                   theirs.state_dict().items()}
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(ours.weight.data, theirs.weight.detach().numpy())


@pytest.mark.parametrize("in_channels, groups, kernel", [(64, 1, 3), (32, 4, (5, 3))])
def test_conv2d_default_init_is_pytorchs_distribution(in_channels, groups, kernel):
    cr.manual_seed(0)
    layer = nn.Conv2d(in_channels, 256, kernel, groups=groups)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    bound = 1.0 / math.sqrt(in_channels // groups * kh * kw)
    w = layer.weight.data
    assert w.dtype == np.float32 and layer.bias.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.std(w) == pytest.approx(bound / math.sqrt(3), rel=0.02)  # ≥ 40,000 samples
    assert np.abs(layer.bias.data).max() <= bound


def test_dropout2d_layer_drops_whole_channels_in_training_only():
    x = cr.Tensor(randn(6, 10, 3, 4), requires_grad=True)
    layer = nn.Dropout2d(0.3, generator=np.random.default_rng(4))
    y = layer(x)
    kept = np.random.default_rng(4).random((6, 10)) >= 0.3
    np.testing.assert_allclose(y.data, np.where(kept[:, :, None, None], x.data / 0.7, 0), rtol=1e-12)
    G = randn(6, 10, 3, 4)
    y.backward(G)
    np.testing.assert_allclose(x.grad, np.where(kept[:, :, None, None], G / 0.7, 0), rtol=1e-12)
    assert layer.eval()(x) is x
    cr.manual_seed(9)
    first = nn.Dropout2d(0.5)(x).data
    cr.manual_seed(9)
    np.testing.assert_array_equal(nn.Dropout2d(0.5)(x).data, first)


def test_reprs_read_like_pytorchs():
    assert repr(nn.Conv2d(3, 8, 3, padding=1)) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(nn.Conv2d(4, 4, 3, dilation=2, groups=4, bias=False)) == (
        "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), dilation=(2, 2), groups=4, bias=False)")
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"


def test_conv2d_shape_and_dtype_errors_name_the_layer():
    with pytest.raises(ShapeError) as info:
        nn.Conv2d(3, 8, 3)(cr.zeros(2, 4, 8, 8))
    assert str(info.value) == "Conv2d(3 → 8, kernel_size=(3, 3)): expected input (N, 3, H, W) for weight (8, 3, 3, 3) with groups=1, got (2, 4, 8, 8)"
    with pytest.raises(TypeError, match=r"Conv2d\(3 → 8, kernel_size=\(3, 3\)\): expected float32 input"):
        nn.Conv2d(3, 8, 3)(cr.Tensor(np.zeros((1, 3, 5, 5))))
    with pytest.raises(ShapeError, match=r"MaxPool2d: expected input \(N, C, H, W\), got shape \(3, 8, 8\)"):
        nn.MaxPool2d(2)(cr.zeros(3, 8, 8))


@pytest.mark.parametrize("build, message", [
    (lambda: nn.Conv2d(3, 8, 3, groups=2), r"Conv2d: in_channels \(3\) and out_channels \(8\) must both be divisible"),
    (lambda: nn.Conv2d(3, 8, 0), r"Conv2d: kernel_size must be at least 1, got 0"),
    (lambda: nn.Conv2d(3, 8, 3, stride=(1, 0)), r"Conv2d: stride must be at least 1"),
    (lambda: nn.MaxPool2d(2, padding=2), r"MaxPool2d: padding \(2, 2\) must be at most half the kernel size"),
    (lambda: nn.AvgPool2d((2, 2, 2)), r"AvgPool2d: kernel_size must be an int or a pair of ints"),
    (lambda: nn.AdaptiveAvgPool2d(7), r"only output_size=1 .* is supported, got 7"),
    (lambda: nn.Dropout2d(-0.1), r"Dropout2d: p must be in \[0, 1\]"),
])
def test_bad_arguments_fail_at_construction(build, message):
    with pytest.raises(ValueError, match=message):
        build()
