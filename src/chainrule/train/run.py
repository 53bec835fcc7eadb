"""One training run from a recipe: data, model, fit, final evaluation, plots, checkpoint.

This is what ``chainrule train`` and ``chainrule evaluate`` do, as functions.
"""
from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Callable

from .. import data, distributed, random as cr_random
from ..errors import CheckpointError
from .charlm import evaluate_language_checkpoint, train_language_model
from .checkpoint import load_checkpoint
from .fit import evaluate, fit_state
from .lock import run_folder_lock
from .plots import plot_confusion_matrix, plot_history
from .recipes import RecipeError, build_model, build_optimizer, build_scheduler, checkpoint_recipe, recipe_for
from .state import TrainingState

DATASETS = {"fashion-mnist": data.FashionMNIST, "mnist": data.MNIST}
NORMALIZATION = {"fashion-mnist": (data.FASHION_MNIST_MEAN, data.FASHION_MNIST_STD),
                 "mnist": (data.MNIST_MEAN, data.MNIST_STD)}


def load_split(recipe: dict, train: bool, root: str | None = None, rank: int = 0, world: int = 1,
               device: str | None = None):
    """The dataset a recipe names, as a DataLoader (test split unshuffled). A ``root`` is the only
    place looked in: a missing or incomplete one is an error, not a fallback to another copy.
    With ``world`` > 1 the training split is this rank's share (a DistributedSampler) in batches
    of ``batch_size / world``: together the ranks take the recipe's global batch. ``device``:
    where the batches are delivered."""
    try:
        dataset_class = DATASETS[recipe["dataset"]]
    except KeyError:
        raise ValueError(f"unknown dataset {recipe['dataset']!r}: expected one of {tuple(DATASETS)}") from None
    dataset = dataset_class(root=root, train=train, search=root is None)
    transform = data.Compose([data.ToFloat(), data.Normalize(*NORMALIZATION[recipe["dataset"]])])
    if train and world > 1:
        sampler = data.DistributedSampler(dataset, num_replicas=world, rank=rank, seed=recipe["seed"], drop_last=True)
        return dataset, data.DataLoader(dataset, batch_size=recipe["batch_size"] // world, sampler=sampler,
                                        drop_last=True, transform=transform, device=device)
    loader = data.DataLoader(dataset, batch_size=recipe["batch_size"], shuffle=train, seed=recipe["seed"],
                             drop_last=train, transform=transform, device=device)
    return dataset, loader


def train(out: str = "runs/latest", resume: str | None = None, data_root: str | None = None,
          progress: bool = True, log: Callable[[str], None] = print, device: str | None = None, **options) -> dict:
    """Train the recipe ``options`` (missing ones from ``recipes.DEFAULTS``); write results to ``out``.

    Writes ``out/checkpoint.npz`` (after every epoch, and on interruption),
    ``out/history.json``, ``out/curves.png`` and ``out/confusion.png`` (the plots only
    where matplotlib is installed), holding ``out``'s lock throughout: a second run on the
    same folder raises RunFolderBusy. Returns the final test metrics and the history.

    ``resume`` continues a checkpoint with its own recipe: an option given here that
    differs from it raises RecipeError naming both values. Without ``data_root`` a resumed
    run reads the data from where the checkpointed run did.

    Started by ``mpiexec -n N`` (or ``chainrule train --workers N``), each rank trains on its
    share with the gradients averaged over the ranks (DistributedDataParallel); the recipe's
    batch size is the global one and must divide by N. Only rank 0 prints, draws the
    progress bar and writes the folder; every rank seeds the same generator.

    ``device`` (``"cuda"``): where the model trains and the batches go; not part of the recipe,
    so a checkpoint (NumPy arrays) resumes on either device.
    """
    recipe = recipe_for(options)
    saved = None
    if resume is not None:
        saved = load_checkpoint(resume)  # read once: the recipe from it here, the state in fit
        meta = saved[2]
        recipe = resumed_recipe(resume, meta, options)
        if data_root is None:
            data_root = (meta.get("run") or {}).get("data_root")
    if distributed.launched_by_mpi():
        distributed.init()
    rank, world = distributed.rank(), distributed.world_size()
    if recipe["batch_size"] % world:
        raise RecipeError(f"batch_size {recipe['batch_size']} does not divide among {world} ranks: use a multiple "
                          f"of {world}")
    if rank != 0:
        progress, log = False, _silent
    if recipe["model"] == "charlm":
        if world > 1:
            raise RecipeError("the charlm recipe trains in one process; leave out --workers")
        with run_folder_lock(out) as out_dir:
            return train_language_model(out_dir, recipe, resume, saved, progress, log, device)
    with run_folder_lock(out) if rank == 0 else contextlib.nullcontext(Path(out)) as out_dir:
        return _train_in(out_dir, recipe, resume, saved, data_root, progress, log, rank, world, device)


def _silent(line: str) -> None:
    """The log of every rank but 0."""


def build_state(recipe: dict, data_root: str | None = None, rank: int = 0, world: int = 1,
                device: str | None = None) -> tuple:
    """The run a recipe describes, seeded as it is: ``(state, train_set, test_set, test_loader)``,
    ``state`` a :class:`TrainingState` (model, optimizer, schedule, this rank's training loader).
    ``chainrule train`` and its ``--trace`` both start here. ``device``: where it trains."""
    cr_random.manual_seed(recipe["seed"])
    train_set, train_loader = load_split(recipe, train=True, root=data_root, rank=rank, world=world, device=device)
    test_set, test_loader = load_split(recipe, train=False, root=data_root, device=device)
    if len(train_loader) == 0:
        raise RecipeError(f"batch_size {recipe['batch_size']} is larger than the {len(train_set)} training "
                          f"samples, so an epoch would take no step; use a batch size of at most {len(train_set)}")
    model = build_model(recipe, num_classes=len(train_set.classes))
    if device is not None:
        model.to(device)
    if world > 1:
        model = distributed.DistributedDataParallel(model)
    optimizer = build_optimizer(recipe, model.parameters())
    state = TrainingState(model, optimizer, train_loader, scheduler=build_scheduler(recipe, optimizer), recipe=recipe,
                          run={"data_root": None if data_root is None else str(data_root)})
    return state, train_set, test_set, test_loader


def _train_in(out_dir: Path, recipe: dict, resume, saved, data_root, progress: bool, log, rank: int,
              world: int, device: str | None) -> dict:
    state, train_set, test_set, test_loader = build_state(recipe, data_root, rank, world, device)
    shares = f" ({world} ranks of {recipe['batch_size'] // world})" if world > 1 else ""
    log(f"chainrule train: {recipe['model']} on {recipe['dataset']} ({len(train_set)} train / "
        f"{len(test_set)} test), {recipe['optimizer']} lr={recipe['lr']}, batch {recipe['batch_size']}{shares}, "
        f"{recipe['epochs']} epoch{'s' if recipe['epochs'] != 1 else ''}, seed {recipe['seed']}"
        + (f", on {device}" if device is not None else ""))
    started = time.perf_counter()
    history = fit_state(state, epochs=recipe["epochs"], test_loader=test_loader,
                        checkpoint=out_dir / "checkpoint.npz" if rank == 0 else None,
                        resume=resume, resume_contents=saved, progress=progress, log=log)
    model = state.model
    seconds = time.perf_counter() - started
    final = evaluate(model, test_loader, num_classes=len(test_set.classes))
    result = {"test_acc": final["acc"], "test_loss": final["loss"], "seconds": seconds, "history": history}
    if rank != 0:
        return result
    (out_dir / "history.json").write_text(json.dumps(history, indent=1))
    written = ["checkpoint.npz"]
    try:
        plot_history(history, out_dir / "curves.png")
        plot_confusion_matrix(final["confusion"], list(test_set.classes), out_dir / "confusion.png")
        written += ["curves.png", "confusion.png"]
    except ImportError as missing:
        log(f"warning: no plots drawn ({missing.name or 'matplotlib'} is not installed: pip install matplotlib)")
    log(f"test accuracy {final['acc']:.2%} (loss {final['loss']:.4f}) after {len(history)} "
        f"epoch{'s' if len(history) != 1 else ''} in {seconds:.1f} s; wrote {out_dir}/{', '.join(written)}")
    return result


def resumed_recipe(path, meta: dict, options: dict) -> dict:
    """The checkpoint's recipe, which a resumed run continues; RecipeError if ``options`` (None
    meaning "not given") ask for anything else."""
    recipe = checkpoint_recipe(path, meta)
    differing = [f"{key}={value!r} (the checkpoint has {recipe[key]!r})" for key, value in options.items()
                 if value is not None and recipe.get(key) != value]
    if differing:
        raise RecipeError(
            f"{path} is resumed with its own recipe, and these options differ from it: {', '.join(differing)}. "
            f"Leave them out to resume, or start a new run in another folder")
    return recipe


def evaluate_checkpoint(path: str, data_root: str | None = None, log: Callable[[str], None] = print) -> dict:
    """Rebuild the model stored in a checkpoint and evaluate it on its test set."""
    model_state, _, meta = load_checkpoint(path)
    recipe = checkpoint_recipe(path, meta)
    if recipe["model"] == "charlm":
        return evaluate_language_checkpoint(path, log)
    if data_root is None:
        data_root = (meta.get("run") or {}).get("data_root")
    test_set, test_loader = load_split(recipe, train=False, root=data_root)
    model = build_model(recipe, num_classes=len(test_set.classes))
    try:
        model.load_state_dict(model_state)
    except CheckpointError as misfit:
        raise CheckpointError(f"{path}: {misfit}") from None
    result = evaluate(model, test_loader, num_classes=len(test_set.classes))
    log(f"{path}: {recipe['model']} on {recipe['dataset']} test set: accuracy {result['acc']:.2%}, "
        f"loss {result['loss']:.4f} ({len(test_set)} samples)")
    return result
