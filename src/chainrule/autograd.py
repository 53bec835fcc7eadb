"""``cr.autograd.grad``: gradients returned instead of accumulated, to any order
(``torch.autograd.grad``). The walk itself lives in ``tensor.py``."""
from .tensor import grad

__all__ = ["grad"]
