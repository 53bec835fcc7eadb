"""Named training recipes: the models, optimizers and schedules behind ``chainrule train``.

A recipe is a plain dict (stored in every checkpoint), so ``chainrule evaluate``
can rebuild the exact model a checkpoint came from.
"""
from __future__ import annotations

from .. import nn, optim

MODELS = ("mlp", "linear")
OPTIMIZERS = ("sgd", "adam", "adamw")

DEFAULTS = {
    "dataset": "fashion-mnist",
    "model": "mlp",
    "hidden": [512, 512],
    "epochs": 15,
    "batch_size": 128,
    "optimizer": "sgd",
    "lr": 0.05,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "schedule": "cosine",
    "seed": 0,
}


def build_model(recipe: dict, in_features: int = 784, num_classes: int = 10) -> nn.Module:
    """The network a recipe names: ``mlp`` (ReLU MLP with ``hidden`` widths) or ``linear``."""
    name = recipe["model"]
    if name == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(in_features, num_classes))
    if name == "mlp":
        layers = [nn.Flatten()]
        width = in_features
        for hidden in recipe["hidden"]:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, num_classes))
        return nn.Sequential(*layers)
    raise ValueError(f"unknown model {name!r}: expected one of {MODELS}")


def build_optimizer(recipe: dict, parameters) -> optim.Optimizer:
    name, lr, decay = recipe["optimizer"], recipe["lr"], recipe["weight_decay"]
    if name == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=recipe["momentum"], weight_decay=decay)
    if name == "adam":
        return optim.Adam(parameters, lr=lr, weight_decay=decay)
    if name == "adamw":
        return optim.AdamW(parameters, lr=lr, weight_decay=decay)
    raise ValueError(f"unknown optimizer {name!r}: expected one of {OPTIMIZERS}")


def build_scheduler(recipe: dict, optimizer):
    """Cosine annealing over all epochs, or a constant rate (``schedule: none``)."""
    if recipe["schedule"] == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe["epochs"])
    if recipe["schedule"] == "none":
        return None
    raise ValueError(f"unknown schedule {recipe['schedule']!r}: expected 'cosine' or 'none'")
