"""Named training recipes: the models, optimizers and schedules behind ``chainrule train``: image
classifiers (DEFAULTS) and character-level language models (LANGUAGE_DEFAULTS, ``model: charlm``).

A recipe is a plain dict (stored in every checkpoint), so ``chainrule evaluate``
can rebuild the exact model a checkpoint came from.
"""
from __future__ import annotations

import math

from .. import nn, optim
from ..errors import CheckpointError
from .language_models import CharLSTM, CharTransformer

DATASETS = ("fashion-mnist", "mnist")
MODELS = ("mlp", "linear", "cnn", "charlm")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("cosine", "none")
TEXTS = ("fortunes", "words", "text")
ARCHITECTURES = ("lstm", "transformer")


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

LANGUAGE_DEFAULTS = {
    "model": "charlm",
    "dataset": "fortunes",
    "text": None,
    "arch": "lstm",
    "width": 256,
    "layers": 1,
    "heads": 4,
    "context": 128,
    "dropout": 0.0,
    "epochs": 3,
    "batch_size": 32,
    "optimizer": "adam",
    "lr": 3e-3,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "schedule": "cosine",
    "seed": 0,
}
"""The character-level language model (``model: charlm``) on ``dataset`` fortunes, words, or text (the
UTF-8 file ``text``): ``arch`` lstm (``layers`` LSTM layers of ``width``) or transformer (``layers``
causal blocks of ``width`` features and ``heads`` heads), trained on windows of ``context`` characters."""

ARCH_DEFAULTS = {"transformer": {"width": 128, "layers": 2, "lr": 1e-3}}
"""Where the transformer's good recipe differs from the LSTM's."""

OPTIMIZER_DEFAULTS = {"adam": {"lr": 1e-3}, "adamw": {"lr": 1e-3}}
"""Where an optimizer's good learning rate differs from SGD's (Adam's steps are already scaled)."""


def recipe_for(options: dict) -> dict:
    """DEFAULTS, then the model's and the optimizer's own defaults, then ``options`` (None means
    "default"): ``--optimizer adam`` alone gets Adam's learning rate, an explicit ``lr`` wins."""
    given = {k: v for k, v in options.items() if v is not None}
    if given.get("model") == "charlm":
        return _language_recipe(given)
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown training options: {sorted(unknown)}")
    model = given.get("model", DEFAULTS["model"])
    optimizer = given.get("optimizer", DEFAULTS["optimizer"])
    recipe = {**DEFAULTS, **MODEL_DEFAULTS.get(model, {}), **OPTIMIZER_DEFAULTS.get(optimizer, {}), **given}
    check_recipe(recipe)
    return recipe


def _language_recipe(given: dict) -> dict:
    """LANGUAGE_DEFAULTS, the architecture's own, then ``given``; ``text`` alone implies ``dataset: text``."""
    unknown = set(given) - set(LANGUAGE_DEFAULTS)
    if unknown:
        image_only = sorted(unknown & set(DEFAULTS))
        raise RecipeError(f"{', '.join(image_only or sorted(unknown))} does not apply to the charlm model"
                          + ("; it takes width, layers, heads and context" if "hidden" in unknown else ""))
    if given.get("text") is not None:
        given = {"dataset": "text", **given}
    arch = given.get("arch", LANGUAGE_DEFAULTS["arch"])
    recipe = {**LANGUAGE_DEFAULTS, **ARCH_DEFAULTS.get(arch, {}), **given}
    check_language_recipe(recipe)
    return recipe


def check_language_recipe(recipe: dict) -> None:
    """Raise RecipeError naming the first option of a charlm recipe outside its domain."""
    for key, choices in (("dataset", TEXTS), ("arch", ARCHITECTURES), ("optimizer", OPTIMIZERS),
                         ("schedule", SCHEDULES)):
        if recipe.get(key) not in choices:
            raise RecipeError(f"{key} must be one of {', '.join(choices)}; got {recipe.get(key)!r}")
    if (recipe["dataset"] == "text") != (recipe.get("text") is not None):
        raise RecipeError("--text FILE goes with dataset text, and dataset text needs --text FILE; "
                          f"got dataset {recipe['dataset']!r} and text {recipe.get('text')!r}")
    for key, minimum in (("epochs", 1), ("batch_size", 1), ("seed", 0), ("width", 1), ("layers", 1), ("heads", 1),
                         ("context", 1)):
        value = recipe.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise RecipeError(f"{key} must be an integer of at least {minimum}; got {value!r}")
    if recipe["arch"] == "transformer" and recipe["width"] % recipe["heads"]:
        raise RecipeError(f"width {recipe['width']} must divide into {recipe['heads']} heads")
    _check_rates(recipe)
    if not 0.0 <= recipe["dropout"] < 1.0:
        raise RecipeError(f"dropout must be in [0, 1); got {recipe['dropout']!r}")


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
    _check_rates(recipe)
    hidden = recipe.get("hidden")
    if not isinstance(hidden, list) or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in hidden):
        raise RecipeError(f"hidden must be a list of layer widths, each at least 1; got {hidden!r}")


def _check_rates(recipe: dict) -> None:
    for key, positive in (("lr", True), ("momentum", False), ("weight_decay", False), ("dropout", False)):
        value = recipe.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or (
                value <= 0 if positive else value < 0):
            bound = "a finite number above 0" if positive else "a finite number, at least 0"
            raise RecipeError(f"{key} must be {bound}; got {value!r}")


def build_model(recipe: dict, in_features: int = 784, num_classes: int = 10) -> nn.Module:
    """The network a recipe names: ``mlp`` (ReLU MLP with ``hidden`` widths), ``linear``, or
    ``cnn`` (two conv-BN-ReLU-pool blocks, 32 and 64 channels, then a 128-unit classifier)."""
    name = recipe["model"]
    if name == "charlm":
        return build_language_model(recipe, vocab_size=num_classes)
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


def build_language_model(recipe: dict, vocab_size: int) -> nn.Module:
    """The charlm recipe's network over a vocabulary of ``vocab_size`` characters."""
    if recipe["arch"] == "lstm":
        return CharLSTM(vocab_size, hidden_size=recipe["width"], num_layers=recipe["layers"], dropout=recipe["dropout"])
    return CharTransformer(vocab_size, d_model=recipe["width"], nhead=recipe["heads"], num_layers=recipe["layers"],
                           context=recipe["context"], dropout=recipe["dropout"])


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


def checkpoint_recipe(path, meta: dict) -> dict:
    """The validated training recipe stored in a checkpoint's metadata; CheckpointError naming the
    file when there is none (written by ``fit`` or ``save_checkpoint`` without ``recipe=``) or it is unusable."""
    saved = meta.get("recipe")
    if not isinstance(saved, dict):
        raise CheckpointError(
            f"{path}: holds no training recipe, so its model cannot be rebuilt (was it written by fit() or "
            f"save_checkpoint() without recipe=...?); load it with load_checkpoint() into your own model")
    try:
        return recipe_for(saved)
    except (TypeError, RecipeError) as problem:
        raise CheckpointError(f"{path}: its training recipe is not usable: {problem}") from None
