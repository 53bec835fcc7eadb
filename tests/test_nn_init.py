"""nn.init: gains and fans against torch.nn.init, distributions by statistical checks
with fixed seeds, and the default initialisation of the layers."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init

# With n ≥ 40,000 samples the sample std of a uniform or normal is within 1% of the
# true one with overwhelming probability (its relative error is ≈ 1/√(2n) ≈ 0.35%).
STD_RTOL = 0.02


@pytest.fixture(autouse=True)
def fixed_seed():
    cr.manual_seed(1234)


def weight(*shape, dtype=np.float32):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("sigmoid", None), ("conv2d", None),
                                                 ("tanh", None), ("relu", None), ("selu", None),
                                                 ("leaky_relu", None), ("leaky_relu", 0.2),
                                                 ("leaky_relu", math.sqrt(5))])
def test_gain_equals_torchs(nonlinearity, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-12)


@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5, 5), (2, 7, 3)])
def test_fans_equal_torchs(shape):
    torch = pytest.importorskip("torch")
    assert init.fan_in_and_fan_out(weight(*shape)) == torch.nn.init._calculate_fan_in_and_fan_out(
        torch.empty(shape))


def test_fans_need_two_dimensions_and_unknown_nonlinearity_is_named():
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        init.kaiming_uniform_(weight(5))
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")


def assert_uniform(values, bound):
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.99 * bound and values.max() > 0.99 * bound
    assert np.std(values) == pytest.approx(bound / math.sqrt(3), rel=STD_RTOL)


def assert_normal(values, std):
    assert np.std(values) == pytest.approx(std, rel=STD_RTOL)
    assert abs(np.mean(values)) < 5 * std / math.sqrt(values.size)


def test_kaiming_uniform_bound():
    w = init.kaiming_uniform_(weight(200, 300), a=0.0, nonlinearity="relu")
    assert_uniform(w.data, math.sqrt(2) * math.sqrt(3 / 300))


def test_kaiming_uniform_fan_out_of_a_conv_weight():
    w = init.kaiming_uniform_(weight(64, 16, 3, 3), mode="fan_out", nonlinearity="relu")
    assert_uniform(w.data, math.sqrt(2) * math.sqrt(3 / (64 * 9)))


def test_kaiming_normal_std():
    w = init.kaiming_normal_(weight(200, 300), a=0.1)
    assert_normal(w.data, math.sqrt(2 / (1 + 0.01)) / math.sqrt(300))


def test_xavier_uniform_and_normal():
    assert_uniform(init.xavier_uniform_(weight(250, 200), gain=2.0).data, 2.0 * math.sqrt(6 / 450))
    assert_normal(init.xavier_normal_(weight(250, 200)).data, math.sqrt(2 / 450))


def test_uniform_normal_zeros_ones():
    values = init.uniform_(weight(50000), -3.0, 1.0).data
    assert values.min() >= -3.0 and values.max() <= 1.0 and abs(values.mean() + 1.0) < 0.03
    assert_normal(init.normal_(weight(50000), 0.0, 0.5).data, 0.5)
    assert abs(init.normal_(weight(50000), 2.0, 0.5).data.mean() - 2.0) < 0.01
    np.testing.assert_array_equal(init.zeros_(weight(2, 2)).data, 0)
    np.testing.assert_array_equal(init.ones_(weight(2, 2)).data, 1)


def test_init_is_in_place_keeps_dtype_and_returns_the_tensor():
    w = weight(3, 4, dtype=np.float64)
    array = w.data
    assert init.xavier_uniform_(w) is w and w.data is array and w.dtype == np.float64


def test_seeded_generator_reproduces_and_float32_matches_float64():
    cr.manual_seed(42)
    a = nn.Linear(20, 10, dtype=np.float64)
    cr.manual_seed(42)
    b = nn.Linear(20, 10, dtype=np.float32)
    np.testing.assert_allclose(b.weight.data, a.weight.data, rtol=1e-6)
    np.testing.assert_allclose(b.bias.data, a.bias.data, rtol=1e-6)
    cr.manual_seed(43)
    assert not np.allclose(nn.Linear(20, 10).weight.data, b.weight.data)


def test_explicit_generator_is_used():
    first = init.normal_(weight(5), generator=np.random.default_rng(1)).data
    np.testing.assert_array_equal(first, np.random.default_rng(1).normal(0, 1, 5).astype(np.float32))


def test_linear_default_is_pytorchs():
    """kaiming_uniform(a=√5) is U(±√(2/6)·√(3/fan_in)) = U(±1/√fan_in); the bias is U(±1/√fan_in) too."""
    layer = nn.Linear(400, 300)
    assert_uniform(layer.weight.data, 1 / math.sqrt(400))
    bias = np.concatenate([nn.Linear(400, 300).bias.data for _ in range(150)])
    assert_uniform(bias, 1 / math.sqrt(400))


def test_linear_default_matches_torchs_distribution():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    reference = torch.nn.Linear(400, 300).weight.detach().numpy()
    ours = nn.Linear(400, 300).weight.data
    assert np.abs(ours).max() <= 1 / math.sqrt(400) and np.abs(reference).max() <= 1 / math.sqrt(400)
    assert np.std(ours) == pytest.approx(np.std(reference), rel=STD_RTOL)


def test_embedding_and_normalisation_defaults():
    assert_normal(nn.Embedding(1000, 64).weight.data, 1.0)
    norm = nn.BatchNorm1d(5)
    np.testing.assert_array_equal(norm.weight.data, 1)
    np.testing.assert_array_equal(norm.bias.data, 0)
    np.testing.assert_array_equal(norm.running_var.data, 1)
    np.testing.assert_array_equal(nn.LayerNorm(4).weight.data, 1)
