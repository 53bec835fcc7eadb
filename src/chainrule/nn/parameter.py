"""Parameter: a Tensor that a Module learns."""
from __future__ import annotations

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` by default.

    Assigning one to an attribute of a :class:`~chainrule.nn.Module` registers it:
    it then appears in ``parameters()`` and ``state_dict()``.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
