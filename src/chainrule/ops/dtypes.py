"""The dtype rule of every op that combines floating inputs: no silent promotion.

NumPy would compute float32 + float64 (or float32 · int64) in float64: the result
changes precision behind the caller's back, and the float32 input's gradient comes
back as float64, which the engine then rejects deep inside backward(). chainrule
says so at the op instead; the caller casts explicitly (``x.astype("float64")``).
"""
from __future__ import annotations

import numpy


def check_same_dtype(op: str, *arrays) -> None:
    """Raise TypeError if combining ``arrays`` would promote a floating one to another dtype.

    Equal dtypes (the usual case) cost one comparison per input. Otherwise NumPy's
    promotion decides: integer or boolean operands that a floating one absorbs
    without changing its dtype (uint8, bool) pass.
    """
    first = arrays[0].dtype
    for other in arrays[1:]:
        if other.dtype != first:
            _reject_promotion(op, arrays)
            return


def _reject_promotion(op: str, arrays: tuple) -> None:
    """Raise TypeError naming the dtypes if NumPy's result dtype differs from a floating input's."""
    result = numpy.result_type(*arrays)
    promoted = [str(a.dtype) for a in arrays if a.dtype.kind == "f" and a.dtype != result]
    if promoted:
        dtypes = " and ".join(str(a.dtype) for a in arrays)
        raise TypeError(
            f"{op}: mixing {dtypes} inputs would silently promote {', '.join(promoted)} to {result}; "
            f"cast explicitly first, e.g. x.astype('{result}') or x.astype('{promoted[0]}')"
        )
