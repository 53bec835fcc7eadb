"""Bad input to ops and layers: a clear error, every time, before any damage.

Oracle: the error type and the key words of its message (the op or layer, the
expected and the actual shape or dtype, the offending value and its position).
A wrong shape raises ``cr.ShapeError``, which is a ``ValueError``; a dtype that
NumPy would silently promote (float32 with float64) raises ``TypeError``.
"""
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, ops


def f32(*shape):
    return cr.tensor(np.ones(shape, np.float32), requires_grad=True)


def f64(*shape):
    return cr.tensor(np.ones(shape, np.float64), requires_grad=True)


def test_shape_error_is_a_value_error():
    assert issubclass(cr.ShapeError, ValueError)


# -- shapes ------------------------------------------------------------------------------
BROADCAST_FAILURES = {
    "add": lambda: f32(2, 3) + f32(4),
    "sub": lambda: f32(2, 3) - f32(2, 2),
    "mul": lambda: f32(5, 1, 3) * f32(4, 2),
    "div": lambda: cr.div(f32(3), np.ones(2, np.float32)),
    "pow": lambda: cr.pow(f32(2, 3), f32(3, 2)),
    "maximum": lambda: cr.maximum(f32(2, 3), f32(0)),
    "minimum": lambda: cr.minimum(f32(7), f32(6)),
}


@pytest.mark.parametrize("op", sorted(BROADCAST_FAILURES))
def test_elementwise_broadcast_failure_names_op_and_both_shapes(op):
    with pytest.raises(cr.ShapeError, match=rf"^{op}: input shapes \(.*\) and \(.*\) do not broadcast together"):
        BROADCAST_FAILURES[op]()


def test_broadcast_failure_message_lists_the_exact_shapes():
    with pytest.raises(cr.ShapeError) as info:
        f32(2, 3) + f32(4)
    assert str(info.value).startswith("add: input shapes (2, 3) and (4,) do not broadcast together")


def test_where_names_the_condition_shape_too():
    with pytest.raises(cr.ShapeError, match=r"where: input shapes \(5,\) and \(2, 3\) and \(2, 3\) do not broadcast"):
        cr.where(np.ones(5, bool), f32(2, 3), f32(2, 3))


def test_broadcast_check_applies_to_a_function_object_called_directly():
    with pytest.raises(cr.ShapeError, match=r"mul: input shapes \(2,\) and \(3,\)"):
        ops.Mul()(f32(2), f32(3))


def test_a_user_function_keeps_its_own_value_error():
    class Refuses(cr.Function):
        def forward(self, a, b):
            raise ValueError("my own reason")

    with pytest.raises(ValueError, match="my own reason") as info:
        Refuses()(f32(2), f32(3))
    assert not isinstance(info.value, cr.ShapeError)


@pytest.mark.parametrize("a, b, message", [
    ((2, 3), (4,), r"matmul: expected b \(3,\) for a \(2, 3\) .* got b \(4,\)"),
    ((2, 3), (2, 5), r"matmul: expected b \(\.\.\., 3, m\) for a \(2, 3\) .* got b \(2, 5\)"),
    ((2, 4, 3), (3, 3, 5), r"matmul: the batch axes of a \(2, 4, 3\) and b \(3, 3, 5\) .* do not broadcast"),
    ((), (3, 3), r"matmul: expected operands with at least one axis, got shapes \(\) and \(3, 3\)"),
])
def test_matmul_names_the_mismatch(a, b, message):
    with pytest.raises(cr.ShapeError, match=message):
        f32(*a) @ f32(*b)


def test_reshape_names_input_shape_size_and_target():
    with pytest.raises(cr.ShapeError, match=r"reshape: cannot reshape an input of shape \(2, 3\) \(6 elements\) into \(7,\)"):
        f32(2, 3).reshape(7)


@pytest.mark.parametrize("call, message", [
    (lambda: cr.flatten(f32(3), 1), r"flatten: start_dim 1 is out of range for an input of shape \(3,\)"),
    (lambda: cr.flatten(f32(2, 3, 4), 2, 0), r"flatten: start_dim 2 comes after end_dim 0 for an input of shape"),
    (lambda: nn.Flatten()(f32(5)), r"flatten: start_dim 1 is out of range"),
])
def test_flatten_rejects_axes_that_do_not_exist(call, message):
    with pytest.raises(cr.ShapeError, match=message):
        call()


def test_linear_layer_message_is_exactly_the_documented_one():
    with pytest.raises(cr.ShapeError) as info:
        nn.Linear(784, 512)(cr.zeros(128, 785))
    assert str(info.value) == "Linear(784 → 512): expected input (..., 784), got (128, 785)"


@pytest.mark.parametrize("call, message", [
    (lambda: cr.linear(f32(4, 3), f32(2, 5)), r"linear: expected input \(\.\.\., 5\), got \(4, 3\)"),
    (lambda: cr.linear(f32(4, 3), f32(2, 3), f32(5)), r"linear: expected bias \(2,\) for W \(2, 3\), got bias \(5,\)"),
    (lambda: cr.mse(f32(4, 3), f32(3, 4)), r"mse: pred and target must have the same shape, got \(4, 3\) and \(3, 4\)"),
    (lambda: cr.broadcast_to(f32(3), (2, 4)), r"broadcast_to: cannot broadcast an input of shape \(3,\) to \(2, 4\)"),
    (lambda: cr.concatenate([f32(2, 3), f32(2, 4)]), r"concatenate along axis 0: shapes must match"),
    (lambda: cr.stack([f32(2), f32(3)]), r"stack: all arrays must have the same shape, got \[\(2,\), \(3,\)\]"),
    (lambda: cr.layer_norm(f32(2, 4), 3), r"layer_norm: expected input \(\*, 3\), got \(2, 4\)"),
    (lambda: cr.batch_norm(f32(4), training=True), r"batch_norm: expected input \(N, C\) or \(N, C, \*spatial\), got \(4,\)"),
    (lambda: cr.embedding(np.array([0, 1]), f32(5)), r"embedding: expected weight \(num_embeddings, embedding_dim\)"),
    (lambda: cr.conv2d(f32(3, 5, 5), f32(4, 3, 3, 3)), r"conv2d: expected input \(N, C, H, W\), got shape \(3, 5, 5\)"),
    (lambda: f32(2, 3).sum().backward(np.ones(2)), r"backward\(\): gradient has shape \(2,\), the tensor has shape \(\)"),
])
def test_op_shape_errors_name_the_op_and_both_shapes(call, message):
    with pytest.raises(cr.ShapeError, match=message):
        call()


@pytest.mark.parametrize("layer, shape, message", [
    (nn.Linear(4, 3), (2, 5), r"Linear\(4 → 3\): expected input \(\.\.\., 4\), got \(2, 5\)"),
    (nn.BatchNorm1d(4), (8, 5), r"BatchNorm1d\(4\): expected input \(N, 4\) or \(N, 4, L\), got \(8, 5\)"),
    (nn.BatchNorm2d(3), (2, 3, 4), r"BatchNorm2d\(3\): expected input \(N, 3, H, W\), got \(2, 3, 4\)"),
    (nn.LayerNorm(4), (2, 3), r"LayerNorm\(\(4,\)\): expected input \(\*, 4\), got \(2, 3\)"),
    (nn.Conv2d(3, 8, 3), (2, 4, 9, 9), r"Conv2d\(3 → 8, kernel_size=\(3, 3\)\): expected input \(N, 3, H, W\) for weight \(8, 3, 3, 3\) with groups=1, got \(2, 4, 9, 9\)"),
    (nn.MaxPool2d(2), (3, 8, 8), r"MaxPool2d: expected input \(N, C, H, W\), got shape \(3, 8, 8\)"),
])
def test_every_layer_names_itself_the_expected_and_the_actual_shape(layer, shape, message):
    with pytest.raises(cr.ShapeError, match=message):
        layer(cr.zeros(*shape))


def test_a_shape_error_deep_in_a_model_names_the_layer_that_got_it():
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(30, 5))
    with pytest.raises(cr.ShapeError, match=r"Linear\(30 → 5\): expected input \(\.\.\., 30\), got \(8, 20\)"):
        model(cr.zeros(8, 10))


# -- class labels ------------------------------------------------------------------------
CLASSIFIERS = {
    "CrossEntropyLoss": lambda logits, labels: nn.CrossEntropyLoss()(logits, labels),
    "NLLLoss": lambda logits, labels: nn.NLLLoss()(logits, labels),
    "softmax_cross_entropy": cr.softmax_cross_entropy,
    "nll_loss": cr.nll_loss,
}


@pytest.mark.parametrize("loss", sorted(CLASSIFIERS))
def test_float_labels_name_the_first_fractional_value_and_its_position(loss):
    with pytest.raises(TypeError, match=r"class labels must be integers, got dtype float64 \(2\.5 at position 3\)"):
        CLASSIFIERS[loss](f32(4, 3), np.array([0.0, 1.0, 2.0, 2.5]))


@pytest.mark.parametrize("loss", sorted(CLASSIFIERS))
@pytest.mark.parametrize("labels, value, position", [
    ([0, 2, -1, 1], -1, 2),
    ([3, 0, 1, 2], 3, 0),
    ([0, 1, 2, 7], 7, 3),
])
def test_labels_out_of_range_name_the_value_and_its_position(loss, labels, value, position):
    with pytest.raises(ValueError, match=rf"class label {value} at position {position} is out of range for 3 classes "
                                         rf"\(expected 0 ≤ label < 3\)"):
        CLASSIFIERS[loss](f32(4, 3), np.array(labels))


def test_a_negative_label_never_silently_picks_the_last_class():
    """NumPy would read label -1 as "the last column": the loss must refuse, not compute."""
    logits = cr.tensor(np.array([[0.0, 0.0, 9.0]], np.float32))
    with pytest.raises(ValueError, match="class label -1 at position 0"):
        cr.softmax_cross_entropy(logits, np.array([-1]))


def test_embedding_indices_out_of_range_name_value_and_position():
    with pytest.raises(IndexError, match=r"Embedding: index -2 at position \(0, 1\) is out of range for 4 embeddings"):
        nn.Embedding(4, 2)(np.array([[0, -2], [1, 3]]))


# -- dtypes: float32 and float64 never mix silently ---------------------------------------
MIXED = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "maximum": cr.maximum,
    "minimum": cr.minimum,
    "where": lambda a, b: cr.where(np.ones((2, 3), bool), a, b),
    "matmul": lambda a, b: a @ b.T,
    "mse": cr.mse,
    "linear": cr.linear,
}


@pytest.mark.parametrize("op", sorted(MIXED))
@pytest.mark.parametrize("order", ["f32 then f64", "f64 then f32"])
def test_mixing_float32_and_float64_raises_type_error_naming_both(op, order):
    a, b = (f32(2, 3), f64(2, 3)) if order == "f32 then f64" else (f64(2, 3), f32(2, 3))
    with pytest.raises(TypeError, match=rf"^{op}: mixing float(32|64) and float(32|64) inputs would silently "
                                        rf"promote float32 to float64; cast explicitly"):
        MIXED[op](a, b)


def test_an_int64_tensor_takes_the_float_tensors_dtype_as_in_torch():
    # PyTorch's promotion (ops/dtypes.py): an integer tensor meeting a float32 one becomes float32.
    torch = pytest.importorskip("torch")
    a, counts = f32(3), np.arange(3)
    out = a * cr.tensor(counts)
    expected = torch.from_numpy(a.data) * torch.from_numpy(counts)
    assert out.dtype == np.float32 and str(expected.dtype) == "torch.float32"
    np.testing.assert_array_equal(out.data, expected.numpy())


def test_an_op_called_by_hand_still_refuses_a_mix_that_promotes_float32():
    with pytest.raises(TypeError, match=r"mul: mixing float32 and int64 inputs would silently promote float32 to float64"):
        ops.Mul().forward(np.ones(3, np.float32), np.arange(3))


@pytest.mark.parametrize("other", [np.arange(3, dtype=np.uint8), np.array([True, False, True]), 2, 2.5, np.float64(2)])
def test_operands_that_do_not_change_the_dtype_are_fine(other):
    out = f32(3) * (cr.tensor(other) if isinstance(other, np.ndarray) else other)
    assert out.dtype == np.float32
    out.sum().backward()


def test_explicit_cast_is_the_documented_way_to_mix():
    a, b = f32(2, 3), f64(2, 3)
    out = a.astype(np.float64) + b
    out.sum().backward()
    assert (out.dtype, a.grad.dtype, b.grad.dtype) == (np.float64, np.float32, np.float64)


@pytest.mark.parametrize("call, message", [
    (lambda: cr.batch_norm(f32(4, 3), weight=f64(3), training=True), r"batch_norm: mixing float32 and float64"),
    (lambda: cr.layer_norm(f32(4, 3), 3, weight=f32(3), bias=f64(3)), r"layer_norm: mixing float32 and float32 and float64"),
    (lambda: cr.linear(f32(4, 3), f32(2, 3), f64(2)), r"linear: mixing float32 and float32 and float64"),
    (lambda: cr.binary_cross_entropy_with_logits(f32(3), f64(3)), r"logits and targets must have the same dtype"),
])
def test_ops_with_several_floating_inputs_check_all_of_them(call, message):
    with pytest.raises(TypeError, match=message):
        call()


@pytest.mark.parametrize("layer, shape", [
    (nn.Linear(4, 3), (2, 4)),
    (nn.BatchNorm1d(4), (2, 4)),
    (nn.LayerNorm(4), (2, 4)),
    (nn.Conv2d(1, 2, 3), (1, 1, 5, 5)),
])
def test_a_float32_layer_refuses_float64_input_and_says_how_to_fix_it(layer, shape):
    name = re.escape(type(layer).__name__)
    with pytest.raises(TypeError, match=rf"{name}.*: expected float32 input \(the dtype of its parameters\), got float64; "
                                        r"cast the input with \.astype\(\) or build the layer with dtype=float64"):
        layer(cr.tensor(np.zeros(shape)))


def test_a_float64_layer_takes_float64_input():
    out = nn.Linear(4, 3, dtype=np.float64)(cr.tensor(np.zeros((2, 4))))
    assert out.dtype == np.float64


def test_integer_input_to_a_layer_is_refused_too():
    with pytest.raises(TypeError, match=r"Linear\(4 → 3\): expected float32 input .* got int64"):
        nn.Linear(4, 3)(cr.tensor(np.zeros((2, 4), np.int64)))
