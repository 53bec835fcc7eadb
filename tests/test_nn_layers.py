"""Every nn layer against the equivalent torch.nn layer with the same weights, in
float64 and float32, in training and evaluation mode where they differ."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError
from nn_reference import assert_same_as_torch

torch = pytest.importorskip("torch")
tnn = torch.nn

DTYPES = [np.float64, np.float32]
rng = np.random.default_rng(11)


def randn(*shape):
    return rng.standard_normal(shape) * 1.5 + 0.3


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape", [(5, 4), (2, 3, 4), (4,)])
def test_linear(dtype, bias, x_shape):
    assert_same_as_torch(nn.Linear(4, 3, bias=bias, dtype=dtype), tnn.Linear(4, 3, bias=bias), randn(*x_shape), dtype)


ACTIVATIONS = [
    (nn.ReLU, tnn.ReLU, {}),
    (nn.LeakyReLU, tnn.LeakyReLU, {}),
    (nn.LeakyReLU, tnn.LeakyReLU, {"negative_slope": 0.2}),
    (nn.Sigmoid, tnn.Sigmoid, {}),
    (nn.Tanh, tnn.Tanh, {}),
    (nn.GELU, tnn.GELU, {}),
    (nn.GELU, tnn.GELU, {"approximate": "tanh"}),
    (nn.Softmax, tnn.Softmax, {"dim": 1}),
    (nn.Softmax, tnn.Softmax, {"dim": 0}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ours, theirs, kwargs", ACTIVATIONS, ids=lambda a: getattr(a, "__name__", str(a)))
def test_activations(ours, theirs, kwargs, dtype):
    assert_same_as_torch(ours(**kwargs), theirs(**kwargs), randn(4, 5), dtype)


@pytest.mark.parametrize("start, end", [(1, -1), (0, -1), (1, 2), (2, 3)])
def test_flatten(start, end):
    assert_same_as_torch(nn.Flatten(start, end), tnn.Flatten(start, end), randn(2, 3, 2, 2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("x_shape", [(8, 3), (4, 3, 5)])
def test_batchnorm1d(dtype, train, x_shape):
    layer = nn.BatchNorm1d(3, momentum=0.3, dtype=dtype)
    cr.nn.init.normal_(layer.weight)
    cr.nn.init.normal_(layer.bias)
    layer.running_mean.data[:] = [0.5, -1.0, 2.0]
    layer.running_var.data[:] = [0.5, 2.0, 1.5]
    assert_same_as_torch(layer, tnn.BatchNorm1d(3, momentum=0.3), randn(*x_shape), dtype, train=train, steps=3)


@pytest.mark.parametrize("kwargs", [{"affine": False}, {"track_running_stats": False}, {"momentum": None}, {"bias": False},
                                    {"eps": 0.1, "affine": False, "track_running_stats": False}],
                         ids=str)
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm1d_options(kwargs, train):
    assert_same_as_torch(nn.BatchNorm1d(4, dtype=np.float64, **kwargs), tnn.BatchNorm1d(4, **kwargs), randn(6, 4),
                         train=train, steps=3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm2d(dtype, train):
    layer = nn.BatchNorm2d(3, dtype=dtype)
    cr.nn.init.uniform_(layer.weight, 0.5, 1.5)
    assert_same_as_torch(layer, tnn.BatchNorm2d(3), randn(2, 3, 4, 5), dtype, train=train, steps=2)


def test_batchnorm_training_then_eval_uses_the_running_statistics():
    layer, reference = nn.BatchNorm1d(3), tnn.BatchNorm1d(3)
    assert_same_as_torch(layer, reference, randn(16, 3), np.float32, train=True, steps=4)
    assert int(layer.num_batches_tracked.data) == 4
    x = randn(5, 3).astype(np.float32)
    layer.eval()
    reference.eval()
    np.testing.assert_allclose(layer(cr.Tensor(x)).data, reference(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("normalized, x_shape", [(5, (4, 5)), ((3, 5), (2, 3, 5)), (6, (6,))])
def test_layernorm(dtype, normalized, x_shape):
    layer = nn.LayerNorm(normalized, dtype=dtype)
    cr.nn.init.normal_(layer.weight)
    cr.nn.init.normal_(layer.bias)
    assert_same_as_torch(layer, tnn.LayerNorm(normalized), randn(*x_shape), dtype)


@pytest.mark.parametrize("kwargs", [{"elementwise_affine": False}, {"bias": False}, {"eps": 0.5}], ids=str)
def test_layernorm_options(kwargs):
    assert_same_as_torch(nn.LayerNorm(4, dtype=np.float64, **kwargs), tnn.LayerNorm(4, **kwargs), randn(3, 4))


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding(dtype):
    indices = np.array([[1, 4, 4], [0, 9, 1]])
    assert_same_as_torch(nn.Embedding(10, 3, dtype=dtype), tnn.Embedding(10, 3), indices, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("train", [True, False])
def test_mlp_with_normalisation(dtype, train):
    ours = nn.Sequential(nn.Linear(6, 8, dtype=dtype), nn.BatchNorm1d(8, dtype=dtype), nn.ReLU(),
                         nn.Linear(8, 5, dtype=dtype), nn.LayerNorm(5, dtype=dtype), nn.Tanh(),
                         nn.Linear(5, 2, dtype=dtype))
    theirs = tnn.Sequential(tnn.Linear(6, 8), tnn.BatchNorm1d(8), tnn.ReLU(), tnn.Linear(8, 5), tnn.LayerNorm(5),
                            tnn.Tanh(), tnn.Linear(5, 2))
    assert_same_as_torch(ours, theirs, randn(7, 6), dtype, train=train, steps=2)


# -- dropout: its mask is ours, so the oracle is the mask rebuilt by hand ----------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_training_applies_the_inverted_mask_from_the_generator(dtype):
    x = cr.Tensor(randn(50, 40).astype(dtype), requires_grad=True)
    y = nn.Dropout(0.25, generator=np.random.default_rng(3))(x)
    kept = np.random.default_rng(3).random(x.shape) >= 0.25
    np.testing.assert_allclose(y.data, np.where(kept, x.data / 0.75, 0), rtol=1e-6)
    assert y.dtype == dtype
    G = randn(50, 40).astype(dtype)
    y.backward(G)
    np.testing.assert_allclose(x.grad, np.where(kept, G / 0.75, 0), rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.03  # 2000 Bernoulli(0.75) draws: σ ≈ 0.01


def test_dropout_uses_the_default_generator_so_manual_seed_reproduces_it():
    x = cr.ones(6, 7)
    layer = nn.Dropout(0.5)
    cr.manual_seed(5)
    first = layer(x).data
    cr.manual_seed(5)
    np.testing.assert_array_equal(layer(x).data, first)
    assert set(np.unique(first)) == {0.0, 2.0}


def test_dropout_is_the_identity_in_eval_mode_and_at_p_zero():
    x = cr.Tensor(randn(3, 4), requires_grad=True)
    assert nn.Dropout(0.9).eval()(x) is x
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)


# -- errors ----------------------------------------------------------------------
def test_linear_shape_error_names_layer_expected_and_actual_shape():
    with pytest.raises(ShapeError) as info:
        nn.Linear(784, 512)(cr.zeros(128, 785))
    assert str(info.value) == "Linear(784 → 512): expected input (..., 784), got (128, 785)"


def test_linear_rejects_a_dtype_that_would_upcast():
    with pytest.raises(TypeError, match=r"Linear\(4 → 3\): expected float32 input .* got float64"):
        nn.Linear(4, 3)(cr.Tensor(np.zeros((2, 4))))


@pytest.mark.parametrize("layer, shape, message", [
    (nn.BatchNorm1d(4), (8, 5), r"BatchNorm1d\(4\): expected input \(N, 4\) or \(N, 4, L\), got \(8, 5\)"),
    (nn.BatchNorm1d(4), (2, 4, 3, 3), r"BatchNorm1d\(4\): expected input .* got \(2, 4, 3, 3\)"),
    (nn.BatchNorm2d(3), (2, 3, 4), r"BatchNorm2d\(3\): expected input \(N, 3, H, W\), got \(2, 3, 4\)"),
    (nn.LayerNorm((3, 4)), (2, 4, 3), r"LayerNorm\(\(3, 4\)\): expected input \(\*, 3, 4\), got \(2, 4, 3\)"),
])
def test_normalisation_shape_errors(layer, shape, message):
    with pytest.raises(ShapeError, match=message):
        layer(cr.zeros(*shape))


def test_batchnorm_training_needs_more_than_one_value_per_channel():
    with pytest.raises(ShapeError, match="more than one value per channel"):
        nn.BatchNorm1d(3)(cr.zeros(1, 3))
    assert nn.BatchNorm1d(3).eval()(cr.zeros(1, 3)).shape == (1, 3)


def test_embedding_index_out_of_range_names_value_and_position():
    with pytest.raises(IndexError, match=r"index 10 at position \(1, 0\) is out of range for 10 embeddings"):
        nn.Embedding(10, 2)(np.array([[0, 1], [10, 2]]))
    with pytest.raises(TypeError, match="indices must be integers"):
        nn.Embedding(10, 2)(np.array([0.0, 1.0]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, ours, theirs, x", [
    ("Conv1d", lambda d: nn.Conv1d(3, 4, 3, stride=2, padding=1, dtype=d), lambda: tnn.Conv1d(3, 4, 3, stride=2, padding=1),
     randn(2, 3, 9)),
    ("Conv1d(groups, no bias)", lambda d: nn.Conv1d(4, 2, 2, groups=2, bias=False, dtype=d),
     lambda: tnn.Conv1d(4, 2, 2, groups=2, bias=False), randn(1, 4, 6)),
    ("ConvTranspose2d", lambda d: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, dtype=d),
     lambda: tnn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), randn(2, 3, 4, 5)),
    ("ConvTranspose2d(groups)", lambda d: nn.ConvTranspose2d(4, 6, (2, 3), groups=2, dtype=d),
     lambda: tnn.ConvTranspose2d(4, 6, (2, 3), groups=2), randn(1, 4, 3, 3)),
    ("MaxPool1d", lambda d: nn.MaxPool1d(3, 2, 1), lambda: tnn.MaxPool1d(3, 2, 1), rng.permutation(48).reshape(2, 3, 8) * 0.1),
    ("AvgPool1d", lambda d: nn.AvgPool1d(2), lambda: tnn.AvgPool1d(2), randn(2, 3, 7)),
    ("ZeroPad2d", lambda d: nn.ZeroPad2d((1, 0, 2, 1)), lambda: tnn.ZeroPad2d((1, 0, 2, 1)), randn(2, 3, 2, 2)),
    ("Upsample(nearest)", lambda d: nn.Upsample(scale_factor=2), lambda: tnn.Upsample(scale_factor=2), randn(1, 2, 3, 3)),
    ("Upsample(bilinear)", lambda d: nn.Upsample(size=(5, 7), mode="bilinear"),
     lambda: tnn.Upsample(size=(5, 7), mode="bilinear"), randn(2, 1, 3, 4)),
    ("GroupNorm", lambda d: nn.GroupNorm(2, 4, dtype=d), lambda: tnn.GroupNorm(2, 4), randn(3, 4, 2, 2)),
    ("InstanceNorm2d(affine)", lambda d: nn.InstanceNorm2d(3, affine=True, dtype=d),
     lambda: tnn.InstanceNorm2d(3, affine=True), randn(2, 3, 4, 4)),
])
def test_more_layers_match_torch(name, ours, theirs, x, dtype):
    layer = ours(dtype)
    for parameter in layer.parameters():  # move the weights off their initial values
        parameter.data[...] = rng.standard_normal(parameter.shape)
    assert_same_as_torch(layer, theirs(), x, dtype)


def test_embedding_padding_idx_starts_at_zero_and_learns_nothing_as_torch():
    indices = np.array([[0, 2, 1], [2, 2, 3]])
    for dtype in DTYPES:
        layer = nn.Embedding(5, 3, padding_idx=2, dtype=dtype)
        assert not layer.weight.data[2].any()
        assert_same_as_torch(layer, tnn.Embedding(5, 3, padding_idx=2), indices, dtype)


def test_conv_transpose2d_undoes_the_shape_conv2d_makes():
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1)
    up = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1)
    x = cr.randn(1, 2, 8, 6)
    assert up(conv(x)).shape == x.shape
