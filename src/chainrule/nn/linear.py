"""Linear: the affine layer y = x·Wᵀ + b."""
from __future__ import annotations

import math

import numpy

from .. import backend
from ..ops import linalg
from ..tensor import Tensor
from . import init
from .checks import check_dtype, check_size
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """y = x·Wᵀ + b, one ``ops.Linear``.

    x: (..., in_features) → y: (..., out_features). ``weight`` is (out_features,
    in_features) and ``bias`` (out_features,), as in PyTorch. Both start as PyTorch
    starts them: W ~ kaiming_uniform(a=√5), i.e. U(±1/√in_features), and b ~ U(±1/√in_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=numpy.float32):
        super().__init__()
        self.in_features = check_size("Linear", "in_features", in_features, minimum=0)
        self.out_features = check_size("Linear", "out_features", out_features, minimum=0)
        self.weight = Parameter(backend.xp.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(backend.xp.empty((out_features,), dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5.0))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
            init.uniform_(self.bias, -bound, bound)

    def as_function(self):
        params = (self.weight,) if self.bias is None else (self.weight, self.bias)
        return linalg.Linear(), params

    def check_input(self, x: Tensor) -> None:
        if x.dtype != self.weight.dtype:
            check_dtype(self.label(), x, self.weight.dtype)

    def label(self) -> str:
        return f"Linear({self.in_features} → {self.out_features})"

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
