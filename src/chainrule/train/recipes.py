"""Named training recipes: the models, optimizers and schedules behind ``chainrule train``.

A recipe is a plain dict (stored in every checkpoint), so ``chainrule evaluate``
can rebuild the exact model a checkpoint came from.
"""
from __future__ import annotations

import math

from .. import nn, optim

DATASETS = ("fashion-mnist", "mnist")
MODELS = ("mlp", "linear", "cnn")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("cosine", "none")


class RecipeError(ValueError):
    """A training option outside its domain (the message names the option and says why)."""

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

MODEL_DEFAULTS = {"cnn": {"epochs": 8}}
"""Where a model's good recipe differs from DEFAULTS (a CNN needs fewer, slower epochs)."""

OPTIMIZER_DEFAULTS = {"adam": {"lr": 1e-3}, "adamw": {"lr": 1e-3}}
"""Where an optimizer's good learning rate differs from SGD's (Adam's steps are already scaled)."""


def recipe_for(options: dict) -> dict:
    """DEFAULTS, then the model's and the optimizer's own defaults, then ``options`` (None means
    "default"): ``--optimizer adam`` alone gets Adam's learning rate, an explicit ``lr`` wins."""
    given = {k: v for k, v in options.items() if v is not None}
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown training options: {sorted(unknown)}")
    model = given.get("model", DEFAULTS["model"])
    optimizer = given.get("optimizer", DEFAULTS["optimizer"])
    recipe = {**DEFAULTS, **MODEL_DEFAULTS.get(model, {}), **OPTIMIZER_DEFAULTS.get(optimizer, {}), **given}
    check_recipe(recipe)
    return recipe


def check_recipe(recipe: dict) -> None:
    """Raise RecipeError naming the first option outside its domain: a run must never train
    for zero steps, on a dead network, or with a NaN learning rate and then exit as if it worked."""
    for key, choices in (("dataset", DATASETS), ("model", MODELS), ("optimizer", OPTIMIZERS),
                         ("schedule", SCHEDULES)):
        if recipe.get(key) not in choices:
            raise RecipeError(f"{key} must be one of {', '.join(choices)}; got {recipe.get(key)!r}")
    for key, minimum in (("epochs", 1), ("batch_size", 1), ("seed", 0)):
        value = recipe.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise RecipeError(f"{key} must be an integer of at least {minimum}; got {value!r}")
    for key, positive in (("lr", True), ("momentum", False), ("weight_decay", False)):
        value = recipe.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or (
                value <= 0 if positive else value < 0):
            bound = "a finite number above 0" if positive else "a finite number, at least 0"
            raise RecipeError(f"{key} must be {bound}; got {value!r}")
    hidden = recipe.get("hidden")
    if not isinstance(hidden, list) or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in hidden):
        raise RecipeError(f"hidden must be a list of layer widths, each at least 1; got {hidden!r}")


def build_model(recipe: dict, in_features: int = 784, num_classes: int = 10) -> nn.Module:
    """The network a recipe names: ``mlp`` (ReLU MLP with ``hidden`` widths), ``linear``, or
    ``cnn`` (two conv-BN-ReLU-pool blocks, 32 and 64 channels, then a 128-unit classifier)."""
    name = recipe["model"]
    if name == "cnn":
        side = int(round(in_features ** 0.5))
        return nn.Sequential(
            nn.Flatten(), nn.Unflatten(1, (1, side, side)),  # any (N, 28, 28) or (N, 784) → (N, 1, 28, 28)
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * (side // 4) ** 2, 128), nn.ReLU(), nn.Dropout(0.25),
            nn.Linear(128, num_classes),
        )
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
