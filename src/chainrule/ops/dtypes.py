"""The dtype rules: PyTorch's type promotion for integer and boolean operands, and no
silent promotion between floating dtypes.

**Integers, booleans and numbers (PyTorch's rules).** Operands rank by category, bool <
integer < floating. The result takes the highest category among the tensors that have
dimensions; a 0-d tensor counts only when its category is higher than theirs, and a
Python number (or a NumPy array or scalar given as a constant) only when its category
is higher still, in which case it brings the *default* dtype of its category (float32,
int64) rather than its own. Integer and boolean operands are then converted to the
result's dtype (they never carry gradients, so nothing is lost from the graph). So::

    int64 tensor + 0.5             → float32      (NumPy: float64)
    int64 tensor / int64 tensor    → float32      (true division of integers: the default float)
    exp(int64 tensor)              → float32      (and log, sqrt, sigmoid, tanh, softmax, ...)
    int64 tensor ** 0.5, 0.7 ** it → float32
    int32 tensor + 1               → int32;  bool tensor + 1 → int64
    uint8 tensor * float64 tensor  → float64;  float32 tensor * 2 → float32

**Floating operands.** NumPy would compute float32 + float64 in float64: the result
changes precision behind the caller's back, and the float32 input's gradient comes back
as float64, which the engine then rejects deep inside backward(). chainrule says so at
the op instead (a TypeError; PyTorch would let a 0-d float64 tensor follow the float32
one); the caller casts explicitly (``x.astype("float64")``).
"""
from __future__ import annotations

import numpy

from .. import backend
from ..tensor import Tensor, as_tensor_like, reject_promotion

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}
_DEFAULT_INTEGER = numpy.dtype(numpy.int64)


def promoted(*operands, true_division: bool = False) -> list[Tensor]:
    """The operands of one op as Tensors of PyTorch's result dtype (module docstring).

    Floating tensors are never converted (check_same_dtype judges them); integer and
    boolean tensors and constants become the result dtype. ``true_division``: an integer
    or boolean result becomes the default floating dtype, as ``/`` does in PyTorch.
    """
    dtype = result_dtype(operands)
    if true_division and dtype.kind != "f":
        dtype = backend.DEFAULT_DTYPE
    xp = backend.array_module(None, *(o.data for o in operands if isinstance(o, Tensor)))
    converted = []
    for operand in operands:
        if isinstance(operand, Tensor):
            if operand.data.dtype != dtype and operand.data.dtype.kind != "f":
                operand = Tensor(operand.data.astype(dtype))
        else:
            array = xp.asarray(operand)
            if array.dtype.kind in _CATEGORY:
                array = array.astype(dtype, copy=False)
            operand = Tensor(array)
        converted.append(operand)
    return converted


def operands(a, b, true_division: bool = False) -> tuple[Tensor, Tensor]:
    """Both operands of a binary op as Tensors of one dtype by the rules above: a number
    beside a floating Tensor takes its dtype, integers meeting floats become floats."""
    if isinstance(a, Tensor) and a.data.dtype.kind == "f":
        if not isinstance(b, Tensor):
            return a, as_tensor_like(b, a)
        if b.data.dtype == a.data.dtype:
            return a, b
    elif isinstance(b, Tensor) and b.data.dtype.kind == "f" and not isinstance(a, Tensor):
        return as_tensor_like(a, b), b
    return tuple(promoted(a, b, true_division=true_division))


def result_dtype(operands) -> numpy.dtype:
    """PyTorch's result dtype for these operands (Tensors, arrays, numbers)."""
    dimensioned, zero_dim, constants = [], [], []
    for operand in operands:
        if isinstance(operand, Tensor):
            (dimensioned if operand.ndim else zero_dim).append(operand.data.dtype)
        else:
            dtype = getattr(operand, "dtype", None)
            constants.append(numpy.asarray(operand).dtype if dtype is None else numpy.dtype(dtype))
    result = None
    for group in (dimensioned, zero_dim):
        kinds = [d for d in group if d.kind in _CATEGORY]
        if not kinds:
            continue
        top = max(_CATEGORY[d.kind] for d in kinds)
        if result is None or top > _CATEGORY[result.kind]:
            result = numpy.result_type(*[d for d in kinds if _CATEGORY[d.kind] == top])
    kinds = [d for d in constants if d.kind in _CATEGORY]
    if kinds:
        top = max(_CATEGORY[d.kind] for d in kinds)
        if result is None or top > _CATEGORY[result.kind]:
            result = backend.DEFAULT_DTYPE if top == 2 else _DEFAULT_INTEGER if top == 1 else numpy.dtype(bool)
    return result if result is not None else numpy.result_type(*(dimensioned + zero_dim + constants))


def floating(a):
    """``a`` itself when floating, else ``a`` converted to the default floating dtype: what a
    float function (exp, log, sigmoid, ...) of an integer or boolean tensor computes in PyTorch."""
    if isinstance(a, Tensor) and a.data.dtype.kind in "biu":
        return Tensor(a.data.astype(backend.DEFAULT_DTYPE))
    return a


def check_same_dtype(op: str, *arrays) -> None:
    """Raise TypeError if combining ``arrays`` would promote a floating one to another dtype.

    Equal dtypes (the usual case) cost one comparison per input. Otherwise NumPy's
    promotion decides: integer or boolean operands that a floating one absorbs
    without changing its dtype (uint8, bool) pass.
    """
    first = arrays[0].dtype
    for other in arrays[1:]:
        if other.dtype != first:
            reject_promotion(op, arrays)
            return
