"""One training run from a recipe: data, model, fit, final evaluation, plots, checkpoint.

This is what ``chainrule train`` and ``chainrule evaluate`` do, as functions.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from .. import data, random as cr_random
from .checkpoint import load_checkpoint
from .fit import evaluate, fit
from .plots import plot_confusion_matrix, plot_history
from .recipes import build_model, build_optimizer, build_scheduler, recipe_for

DATASETS = {"fashion-mnist": data.FashionMNIST, "mnist": data.MNIST}
NORMALIZATION = {"fashion-mnist": (data.FASHION_MNIST_MEAN, data.FASHION_MNIST_STD),
                 "mnist": (data.MNIST_MEAN, data.MNIST_STD)}


def load_split(recipe: dict, train: bool, root: str | None = None):
    """The dataset a recipe names, as a DataLoader (test split unshuffled)."""
    try:
        dataset_class = DATASETS[recipe["dataset"]]
    except KeyError:
        raise ValueError(f"unknown dataset {recipe['dataset']!r}: expected one of {tuple(DATASETS)}") from None
    dataset = dataset_class(root=root, train=train)
    transform = data.Compose([data.ToFloat(), data.Normalize(*NORMALIZATION[recipe["dataset"]])])
    loader = data.DataLoader(dataset, batch_size=recipe["batch_size"], shuffle=train, seed=recipe["seed"],
                             drop_last=train, transform=transform)
    return dataset, loader


def train(out: str = "runs/latest", resume: str | None = None, data_root: str | None = None,
          progress: bool = True, log: Callable[[str], None] = print, **options) -> dict:
    """Train the recipe ``options`` (missing ones from ``recipes.DEFAULTS``); write results to ``out``.

    Writes ``out/checkpoint.npz`` (after every epoch, and on interruption),
    ``out/history.json``, ``out/curves.png`` and ``out/confusion.png``.
    Returns the final test metrics and the history.
    """
    recipe = recipe_for(options)
    if resume is not None:
        recipe = load_checkpoint(resume)[2]["recipe"]
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    cr_random.manual_seed(recipe["seed"])
    train_set, train_loader = load_split(recipe, train=True, root=data_root)
    test_set, test_loader = load_split(recipe, train=False, root=data_root)
    model = build_model(recipe, num_classes=len(train_set.classes))
    optimizer = build_optimizer(recipe, model.parameters())
    scheduler = build_scheduler(recipe, optimizer)
    log(f"chainrule train: {recipe['model']} on {recipe['dataset']} ({len(train_set)} train / "
        f"{len(test_set)} test), {recipe['optimizer']} lr={recipe['lr']}, batch {recipe['batch_size']}, "
        f"{recipe['epochs']} epochs, seed {recipe['seed']}")
    started = time.perf_counter()
    history = fit(model, optimizer, train_loader, epochs=recipe["epochs"], test_loader=test_loader,
                  scheduler=scheduler, checkpoint=out_dir / "checkpoint.npz", resume=resume, recipe=recipe,
                  progress=progress, log=log)
    seconds = time.perf_counter() - started
    final = evaluate(model, test_loader, num_classes=len(test_set.classes))
    (out_dir / "history.json").write_text(json.dumps(history, indent=1))
    plot_history(history, out_dir / "curves.png")
    plot_confusion_matrix(final["confusion"], list(test_set.classes), out_dir / "confusion.png")
    log(f"test accuracy {final['acc']:.2%} (loss {final['loss']:.4f}) after {len(history)} epochs "
        f"in {seconds:.1f} s; wrote {out_dir}/checkpoint.npz, curves.png, confusion.png")
    return {"test_acc": final["acc"], "test_loss": final["loss"], "seconds": seconds, "history": history}


def evaluate_checkpoint(path: str, data_root: str | None = None, log: Callable[[str], None] = print) -> dict:
    """Rebuild the model stored in a checkpoint and evaluate it on its test set."""
    model_state, _, meta = load_checkpoint(path)
    recipe = meta["recipe"]
    test_set, test_loader = load_split(recipe, train=False, root=data_root)
    model = build_model(recipe, num_classes=len(test_set.classes))
    model.load_state_dict(model_state)
    result = evaluate(model, test_loader, num_classes=len(test_set.classes))
    log(f"{path}: {recipe['model']} on {recipe['dataset']} test set: accuracy {result['acc']:.2%}, "
        f"loss {result['loss']:.4f} ({len(test_set)} samples)")
    return result
