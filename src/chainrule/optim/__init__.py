"""Optimizers and learning-rate schedules, with PyTorch's update rules exactly.

    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    opt.zero_grad(); loss.backward(); opt.step(); sched.step()

State dicts are plain values and NumPy arrays; :func:`flatten_state` /
:func:`unflatten_state` map an optimizer's to ``{str: ndarray}`` for ``numpy.savez``.
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lr_scheduler import (CosineAnnealingLR, CosineAnnealingWarmRestarts, ExponentialLR, LambdaLR, LinearLR,
                           LRScheduler, MultiStepLR, OneCycleLR, ReduceLROnPlateau, SequentialLR, StepLR)
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD
from .state_io import flatten_state, unflatten_state

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "Adagrad",
    "RMSprop",
    "NAdam",
    "RAdam",
    "CosineAnnealingWarmRestarts",
    "ReduceLROnPlateau",
    "flatten_state",
    "unflatten_state",
    "lr_scheduler",
    "LRScheduler",
    "StepLR",
    "ExponentialLR",
    "MultiStepLR",
    "LambdaLR",
    "CosineAnnealingLR",
    "LinearLR",
    "OneCycleLR",
    "SequentialLR",
]
