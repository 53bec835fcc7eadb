"""The Tensor API and the creation helpers: attributes, operators, dtypes, seeding.

Expected values come from NumPy on the same arrays, or are written out by hand.
"""
import operator

import numpy as np
import pytest

import chainrule as cr
from chainrule import random as cr_random

F32, F64 = np.float32, np.float64


@pytest.fixture(autouse=True)
def keep_the_default_generator():
    """These tests reseed and draw; later test files must see the generator untouched."""
    state = cr_random.get_state()
    yield
    cr_random.set_state(state)


# -- attributes -------------------------------------------------------------------------
def test_array_attributes_mirror_the_data():
    data = np.arange(24, dtype=F32).reshape(2, 3, 4)
    x = cr.Tensor(data)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.size == 24 and len(x) == 2
    assert x.dtype == F32
    assert x.numpy() is data or np.shares_memory(x.numpy(), data)
    np.testing.assert_array_equal(x.numpy(), data)
    assert x.tolist() == data.tolist()
    assert x.is_leaf and not x.requires_grad and x.grad is None


def test_transpose_property():
    m = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert m.T.shape == (3, 2)
    np.testing.assert_array_equal(m.T.numpy(), [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]])
    v = cr.tensor([1.0, 2.0])
    np.testing.assert_array_equal(v.T.numpy(), v.numpy())


def test_item_gives_a_python_number_and_rejects_many_elements():
    assert type(cr.tensor(2.5).item()) is float and cr.tensor(2.5).item() == 2.5
    assert type(cr.tensor([[7]]).item()) is int and cr.tensor([[7]]).item() == 7
    assert float(cr.tensor([1.5])) == 1.5
    with pytest.raises(ValueError, match=r"one element.*\(2,\)"):
        cr.tensor([1.0, 2.0]).item()


@pytest.mark.parametrize("compare", [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne])
def test_comparisons_give_boolean_tensors_that_take_no_gradient(compare):
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    other = np.array([3.0, 2.0, 1.0])
    expected = compare(x.data, other)
    for result in (compare(x, 2.0), compare(x, other), compare(x, cr.tensor(other))):
        assert isinstance(result, cr.Tensor)
        assert result.dtype == np.bool_
        assert not result.requires_grad and result.creator is None
    np.testing.assert_array_equal(compare(x, other).numpy(), expected)
    np.testing.assert_array_equal(compare(x, 2.0).numpy(), compare(x.data, 2.0))
    # a NumPy array or number on the left defers to the Tensor's reflected comparison
    np.testing.assert_array_equal(compare(other, x).numpy(), compare(other, x.data))
    np.testing.assert_array_equal(compare(2.0, x).numpy(), compare(2.0, x.data))


OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]
CONSTANTS = {
    "int": 2,
    "float": 2.5,
    "numpy float64 scalar": F64(1.5),
    "numpy float64 array": np.array([0.5, 1.5, 2.0]),
    "numpy int array": np.array([1, 2, 3]),
    "numpy float32 array": np.array([0.5, 1.5, 2.0], dtype=F32),
}


@pytest.mark.parametrize("constant", CONSTANTS.values(), ids=CONSTANTS.keys())
@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("tensor_on_left", [True, False], ids=["tensor_op_constant", "constant_op_tensor"])
def test_operators_with_constants_keep_float32(op, constant, tensor_on_left):
    x = cr.tensor([0.25, 1.5, 2.0], requires_grad=True)
    y = op(x, constant) if tensor_on_left else op(constant, x)
    assert isinstance(y, cr.Tensor)
    assert y.dtype == F32, f"{op.__name__} with {type(constant).__name__} gave {y.dtype}"
    x64 = x.data.astype(F64)
    expected = op(x64, constant) if tensor_on_left else op(constant, x64)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)
    y.sum().backward()
    assert x.grad.dtype == F32


def test_matmul_with_a_float64_array_keeps_float32():
    x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    w = np.array([[0.5], [0.25]])
    for y in (x @ w, w.T @ x.T):
        assert y.dtype == F32
        np.testing.assert_allclose(y.numpy(), [[1.0]])


def test_float64_tensors_stay_float64_with_any_constant():
    x = cr.tensor([1.0, 2.0], dtype=F64, requires_grad=True)
    for y in (x * 2, 2.5 - x, x / np.array([2.0, 4.0], dtype=F32), x**2):
        assert y.dtype == F64


def test_only_floating_tensors_can_require_gradients():
    with pytest.raises(TypeError, match="int64"):
        cr.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        cr.Tensor(np.array([True, False]), requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        cr.arange(3).requires_grad_()
    assert cr.tensor([1.0]).requires_grad_().requires_grad


def test_repr_shows_values_dtype_and_graph_role():
    assert repr(cr.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2], dtype=int64)"
    assert repr(cr.tensor(3.0, dtype=F64)) == "tensor(3., dtype=float64)"
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2.0) == "tensor([2., 4.], creator=Mul)"


# -- creation helpers ---------------------------------------------------------------------
def test_tensor_infers_dtypes_like_torch():
    assert cr.tensor([1.0, 2.0]).dtype == F32
    assert cr.tensor([1, 2.5]).dtype == F32
    assert cr.tensor(3.0).dtype == F32 and cr.tensor(3.0).shape == ()
    assert cr.tensor([1, 2]).dtype == np.int64
    assert cr.tensor([True, False]).dtype == np.bool_
    for dtype in (F64, F32, np.int32, np.float16):
        assert cr.tensor(np.zeros(2, dtype=dtype)).dtype == dtype
    assert cr.tensor([1, 2], dtype=F64).dtype == F64
    assert cr.tensor(np.zeros(2), dtype=F32).dtype == F32
    assert cr.tensor([1.5], dtype="float64").dtype == F64


def test_tensor_copies_its_data():
    source = np.array([1.0, 2.0], dtype=F32)
    x = cr.tensor(source)
    source[0] = 9.0
    assert x.tolist() == [1.0, 2.0]
    y = cr.tensor(x)
    x.data[1] = 5.0
    assert y.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("make", [cr.zeros, cr.ones])
def test_zeros_and_ones(make):
    fill = 0.0 if make is cr.zeros else 1.0
    for shape_args in [(2, 3), ((2, 3),), ([2, 3],)]:
        t = make(*shape_args)
        assert t.shape == (2, 3) and t.dtype == F32
        np.testing.assert_array_equal(t.numpy(), np.full((2, 3), fill))
    assert make(4, dtype=F64).dtype == F64
    assert make(0).shape == (0,)
    assert make(2, requires_grad=True).requires_grad


def test_full():
    t = cr.full((2, 2), 7.5)
    assert t.dtype == F32
    assert t.tolist() == [[7.5, 7.5], [7.5, 7.5]]
    assert cr.full([3], -1.0, dtype=F64).dtype == F64


@pytest.mark.parametrize("make", [cr.randn, cr.rand])
def test_random_tensors_have_the_asked_shape_and_dtype(make):
    t = make(3, 4)
    assert t.shape == (3, 4) and t.dtype == F32
    assert make((5,), dtype=F64).dtype == F64
    assert make(2, requires_grad=True).requires_grad
    if make is cr.rand:
        draws = cr.rand(1000).numpy()
        assert draws.min() >= 0.0 and draws.max() < 1.0


def test_arange():
    ints = cr.arange(5)
    assert ints.dtype == np.int64 and ints.tolist() == [0, 1, 2, 3, 4]
    assert cr.arange(2, 8, 3).tolist() == [2, 5]
    floats = cr.arange(0.0, 1.0, 0.25)
    assert floats.dtype == F32 and floats.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert cr.arange(3, dtype=F64).dtype == F64


def test_creation_rejects_non_floating_dtypes_for_floating_helpers():
    with pytest.raises(TypeError, match="floating"):
        cr.randn(2, dtype=np.int64)


def test_manual_seed_makes_draws_reproducible():
    cr.manual_seed(123)
    first = cr.randn(4, 3).numpy().copy(), cr.rand(5).numpy().copy()
    cr.manual_seed(123)
    second = cr.randn(4, 3).numpy(), cr.rand(5).numpy()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    cr.manual_seed(124)
    assert not np.array_equal(cr.randn(4, 3).numpy(), first[0])


def test_an_own_generator_is_independent_of_the_default_one():
    cr.manual_seed(0)
    expected = cr.randn(3).numpy().copy()
    cr.manual_seed(0)
    own = cr.randn(3, generator=np.random.default_rng(99)).numpy()
    np.testing.assert_array_equal(cr.randn(3).numpy(), expected)
    np.testing.assert_array_equal(own, np.random.default_rng(99).standard_normal(3, dtype=F32))


# -- the dtype rule holds for a user's Function too ---------------------------------------------------------
class ScaledTanh(cr.Function):
    """y = tanh(x)·w, written as a user would: no dtype checks of its own."""

    def forward(self, x, w):
        self.x, self.w = x, w
        return np.tanh(x) * w

    def backward(self, dy):
        # y = tanh(x)·w  ⇒  dx = dy·w·(1 − tanh²x), dw = dy·tanh x
        t = np.tanh(self.x)
        return dy * self.w * (1 - t * t), dy * t


def test_a_users_function_refuses_float32_with_float64_at_the_call_naming_it():
    x64 = cr.tensor(np.ones(3), requires_grad=True)
    w32 = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match=r"^ScaledTanh: mixing float64 and float32 inputs would silently promote "
                                        r"float32 to float64; cast explicitly"):
        ScaledTanh()(x64, w32)


def test_a_python_number_given_to_a_users_function_takes_the_tensors_dtype():
    x = cr.tensor(np.linspace(-1, 1, 4).astype(np.float32), requires_grad=True)
    y = ScaledTanh()(x, 2.0)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, 2.0 * (1 - np.tanh(x.data) ** 2), rtol=1e-6)


def test_integer_inputs_beside_floats_are_no_mix():
    class Pick(cr.Function):
        def forward(self, x, index):
            self.shape, self.index = x.shape, index
            return x[index]

        def backward(self, dy):
            # y = x[i]  ⇒  dx = 0 except dx[i] = dy
            dx = np.zeros(self.shape, dy.dtype)
            dx[self.index] = dy
            return dx, None

    x = cr.tensor(np.arange(4, dtype=np.float32), requires_grad=True)
    assert Pick()(x, np.array([2, 0])).tolist() == [2.0, 0.0]
