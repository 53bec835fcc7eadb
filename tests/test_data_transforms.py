"""Batch transforms, checked against values worked out by hand."""
import numpy
import pytest

from chainrule import data


def test_to_float_scales_uint8_to_unit_interval():
    x = numpy.array([[0, 51, 255]], dtype=numpy.uint8)
    out = data.ToFloat()(x)
    assert out.dtype == numpy.float32
    assert out.tolist() == [[0.0, numpy.float32(0.2), 1.0]]
    assert data.ToFloat(numpy.float64)(x).tolist() == [[0.0, 0.2, 1.0]]


def test_to_float_uses_the_maximum_of_other_unsigned_types():
    assert data.ToFloat(numpy.float64)(numpy.array([0, 65535], dtype=numpy.uint16)).tolist() == [0.0, 1.0]


def test_to_float_only_casts_floats():
    x = numpy.array([0.5, 2.0], dtype=numpy.float64)
    out = data.ToFloat()(x)
    assert out.dtype == numpy.float32 and out.tolist() == [0.5, 2.0]


def test_to_float_refuses_signed_integers():
    with pytest.raises(TypeError, match="expected unsigned-integer or floating input, got int8"):
        data.ToFloat()(numpy.array([-1, 1], dtype=numpy.int8))


def test_normalize_keeps_float32_and_does_not_touch_its_input():
    x = numpy.array([[0.5, 1.0, 0.0]], dtype=numpy.float32)
    out = data.Normalize(numpy.float64(0.5), numpy.float64(0.25))(x)
    assert out.dtype == numpy.float32
    assert out.tolist() == [[0.0, 2.0, -2.0]]
    assert x.tolist() == [[0.5, 1.0, 0.0]]


def test_normalize_broadcasts_per_feature_statistics():
    x = numpy.array([[1.0, 10.0], [3.0, 30.0]])
    out = data.Normalize([2.0, 20.0], [1.0, 10.0])(x)
    assert out.tolist() == [[-1.0, -1.0], [1.0, 1.0]]


def test_normalize_checks_its_arguments():
    with pytest.raises(ValueError, match="std must be positive"):
        data.Normalize(0.0, 0.0)
    with pytest.raises(TypeError, match="apply ToFloat first"):
        data.Normalize(0.5, 0.5)(numpy.array([1], dtype=numpy.uint8))


def test_flatten_keeps_the_batch_axis_and_c_order():
    x = numpy.arange(2 * 3 * 4).reshape(2, 3, 4)
    out = data.Flatten()(x)
    assert out.shape == (2, 12)
    assert out[1].tolist() == list(range(12, 24))


def test_compose_applies_in_order():
    x = numpy.array([[[0, 255]]], dtype=numpy.uint8)
    out = data.Compose([data.ToFloat(), data.Normalize(0.5, 0.5), data.Flatten()])(x)
    assert out.dtype == numpy.float32 and out.tolist() == [[-1.0, 1.0]]
    assert repr(data.Compose([data.Flatten()])) == "Compose([Flatten()])"


def test_the_standard_statistics_are_in_the_unit_interval():
    # The values themselves are recomputed from the real data in test_data_fashion_mnist_real.py.
    for mean, std in [(data.FASHION_MNIST_MEAN, data.FASHION_MNIST_STD), (data.MNIST_MEAN, data.MNIST_STD)]:
        assert 0.0 < mean < 1.0 and 0.0 < std < 0.5


@pytest.mark.parametrize("mean, std, match", [
    (float("nan"), 1.0, "mean must be finite"),
    (0.0, float("nan"), "std must be finite"),
    (0.0, float("inf"), "std must be finite"),
    ([0.0, float("-inf")], 1.0, "mean must be finite"),
])
def test_normalize_refuses_non_finite_statistics(mean, std, match):
    with pytest.raises(ValueError, match=match):
        data.Normalize(mean, std)
