"""chainrule: neural networks whose every backward pass is written by hand.

    import chainrule as cr
    x = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = (x * 2).relu().sum()
    y.backward()
    x.grad            # array([2., 0., 2.], dtype=float32)
"""
from . import autograd, backend, ops
from . import data, nn, optim
from .anomaly import detect_anomaly
from .errors import AnomalyError, CheckpointError, DataFormatError, ShapeError
from .creation import (arange, empty, eye, from_numpy, full, full_like, linspace, ones, ones_like, rand, rand_like,
                       randint, randn, randn_like, randperm, tensor, zeros, zeros_like)
from .gradcheck import GradcheckError, GradcheckReport, gradcheck
from .inspect import check_gradients, draw_graph, explain, trace
from .ops.functional import *  # noqa: F401,F403 - cr.exp, cr.matmul, cr.relu, ...
from .random import manual_seed
from .tensor import Function, Tensor, enable_grad, is_grad_enabled, no_grad
from .train.saving import load, save

__version__ = "0.1.0"
