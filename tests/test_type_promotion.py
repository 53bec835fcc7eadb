"""Result dtypes against PyTorch's type promotion (ops/dtypes.py), op by op and operand kind by
operand kind: integer and boolean tensors with Python numbers, integer and float tensors, true
division, and the float functions of integers. Oracle: torch's dtype for the same expression."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

OPERANDS = {
    "int64": np.array([3, -2, 5]),
    "int32": np.array([3, -2, 5], np.int32),
    "uint8": np.array([3, 2, 5], np.uint8),
    "bool": np.array([True, False, True]),
    "float32": np.array([1.5, -2.0, 0.25], np.float32),
    "float64": np.array([1.5, -2.0, 0.25]),
}
NUMBERS = [2, 0.5, True]

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "maximum": (cr.maximum, torch.maximum),
    "minimum": (cr.minimum, torch.minimum),
}


def wrap(value):
    return cr.tensor(value) if isinstance(value, np.ndarray) else value


def torch_wrap(value):
    return torch.from_numpy(value) if isinstance(value, np.ndarray) else value


def assert_same_dtype(ours, theirs, label):
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), f"{label}: chainrule {ours.dtype}, torch {theirs.dtype}"


COMBINATIONS = [
    (op, left, right)
    for op in BINARY
    for left in ["int64", "int32", "uint8", "bool"]
    for right in ["int64", "int32", "uint8", "bool", "float32", "float64", *map(repr, NUMBERS)]
    # torch refuses any subtraction that involves a boolean
    if not (op == "sub" and ("bool" in (left, right) or right == "True"))
]


@pytest.mark.parametrize("op, left, right", COMBINATIONS)
def test_integer_and_boolean_tensors_promote_as_in_torch(op, left, right):
    ours_fn, torch_fn = BINARY[op]
    b = OPERANDS[right] if right in OPERANDS else eval(right)
    if op in ("maximum", "minimum") and not isinstance(b, np.ndarray):
        b = np.array(b)  # torch.maximum takes tensors only: a 0-d tensor, as chainrule's constant
        theirs = torch_fn(torch_wrap(OPERANDS[left]), torch.tensor(b, dtype=torch.from_numpy(np.array(b)).dtype))
        ours = ours_fn(wrap(OPERANDS[left]), cr.tensor(b))
    else:
        theirs = torch_fn(torch_wrap(OPERANDS[left]), torch_wrap(b))
        ours = ours_fn(wrap(OPERANDS[left]), wrap(b))
    assert_same_dtype(ours, theirs, f"{left} {op} {right}")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("number", NUMBERS[:2])
@pytest.mark.parametrize("tensor", ["int64", "int32", "uint8", "bool"])
def test_numbers_on_the_left_promote_as_in_torch(number, tensor):
    for ours, theirs in [(number + wrap(OPERANDS[tensor]), number + torch_wrap(OPERANDS[tensor])),
                         (number * wrap(OPERANDS[tensor]), number * torch_wrap(OPERANDS[tensor])),
                         (number / wrap(OPERANDS[tensor]), number / torch_wrap(OPERANDS[tensor]))]:
        assert_same_dtype(ours, theirs, f"{number!r} with {tensor}")


@pytest.mark.parametrize("op, ours_fn, torch_fn", [
    ("exp", cr.exp, torch.exp), ("log", cr.log, torch.log), ("sqrt", cr.sqrt, torch.sqrt),
    ("sigmoid", cr.sigmoid, torch.sigmoid), ("tanh", cr.tanh, torch.tanh),
    ("softmax", lambda x: cr.softmax(x, -1), lambda x: torch.softmax(x.float(), -1)),
    ("log_softmax", lambda x: cr.log_softmax(x, -1), lambda x: torch.log_softmax(x.float(), -1)),
    ("logsumexp", lambda x: cr.logsumexp(x, 0), lambda x: torch.logsumexp(x.float(), 0)),
    ("pow 0.5", lambda x: x ** 0.5, lambda x: x ** 0.5),
    ("0.7 pow", lambda x: 0.7 ** x, lambda x: 0.7 ** x),
    ("pow 2", lambda x: x ** 2, lambda x: x ** 2),
    ("abs", cr.abs, torch.abs),
])
@pytest.mark.parametrize("kind", ["int64", "int32", "uint8"])
def test_float_functions_of_integers_give_the_default_float(op, ours_fn, torch_fn, kind):
    values = np.abs(OPERANDS[kind]).astype(OPERANDS[kind].dtype)
    ours, theirs = ours_fn(cr.tensor(values)), torch_fn(torch.from_numpy(values))
    assert_same_dtype(ours, theirs, f"{op}({kind})")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_a_float32_model_fed_integer_arithmetic_stays_float32():
    w = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    counts = cr.tensor(np.array([1, 2, 3]))
    y = ((counts / counts.sum()) * w + counts * 0.5 + cr.exp(counts) + counts ** 0.5).sum()
    y.backward()
    assert y.dtype == np.float32 and w.grad.dtype == np.float32


def test_floating_tensors_of_two_dtypes_still_refuse_to_mix():
    with pytest.raises(TypeError, match="would silently promote float32 to float64"):
        cr.tensor(np.ones(2, np.float32)) + cr.tensor(np.ones(2))
