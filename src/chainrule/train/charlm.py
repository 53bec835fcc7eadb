"""A character-level language model run: the corpus, the run's state, training with bits per
character in the epoch table, the curve, and sampling from a checkpoint.

What ``chainrule train --model charlm`` and ``chainrule sample`` do, as functions. The losses are
cross-entropies in nats per character; the table and the plot show them in bits (÷ ln 2), beside
the corpus's unigram entropy: a model below it has learnt more than character frequencies.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable

import numpy

from .. import data
from .. import random as cr_random
from ..errors import CheckpointError
from ..tensor import Tensor, no_grad
from .checkpoint import load_checkpoint
from .fit import evaluate, fit_state
from .language_models import next_token_loss
from .plots import plot_bits_per_character
from .recipes import RecipeError, build_language_model, build_optimizer, build_scheduler, checkpoint_recipe
from .state import TrainingState

VALIDATION = 0.1
"""The fraction of the corpus (its end) kept for validation."""

COLUMNS = (("epoch", "epoch", "{:d}"), ("train_bits", "train bits/char", "{:.3f}"),
           ("test_bits", "val bits/char", "{:.3f}"), ("test_acc", "val next-char acc", "{:.2%}"),
           ("seconds", "seconds", "{:.1f}"), ("samples_per_s", "chars/s", "{:.0f}"))


def corpus_text(recipe: dict) -> str:
    """The whole text a charlm recipe trains and validates on."""
    if recipe["dataset"] == "fortunes":
        return data.fortunes_text()
    if recipe["dataset"] == "words":
        return data.words_text()
    return data.read_text(recipe["text"])


def unigram_bits(text: str) -> float:
    """The entropy of ``text``'s character frequencies, in bits per character: what a model that
    knows nothing but those frequencies reaches."""
    counts = numpy.unique(numpy.frombuffer(text.encode("utf-32-le"), dtype=numpy.uint32), return_counts=True)[1]
    p = counts / counts.sum()
    return float(-(p * numpy.log2(p)).sum())


def add_bits(row: dict) -> None:
    """The row's losses (nats per character) in bits per character."""
    for loss, bits in (("train_loss", "train_bits"), ("test_loss", "test_bits")):
        if loss in row:
            row[bits] = row[loss] / math.log(2)


def build_language_state(recipe: dict, text: str | None = None, device: str | None = None) -> tuple:
    """The charlm run a recipe describes, seeded as it is: ``(state, vocabulary, train_set, validation_set,
    validation_loader)``; the vocabulary is every character of the corpus."""
    text = corpus_text(recipe) if text is None else text
    vocabulary = data.CharVocabulary.from_text(text)
    train_text, validation_text = data.split_text(text, VALIDATION)
    cr_random.manual_seed(recipe["seed"])
    try:
        train_set = data.CharDataset(train_text, vocabulary, recipe["context"])
        validation_set = data.CharDataset(validation_text, vocabulary, recipe["context"])
    except ValueError as short:
        raise RecipeError(f"{short} (the corpus has {len(text)} characters, {VALIDATION:.0%} kept for validation)") \
            from None
    train_loader = data.DataLoader(train_set, batch_size=recipe["batch_size"], shuffle=True, seed=recipe["seed"],
                                   drop_last=True, device=device)
    if len(train_loader) == 0:
        raise RecipeError(f"batch_size {recipe['batch_size']} is larger than the {len(train_set)} training windows "
                          f"of {recipe['context']} characters; use a batch size of at most {len(train_set)}")
    validation_loader = data.DataLoader(validation_set, batch_size=recipe["batch_size"], device=device)
    model = build_language_model(recipe, len(vocabulary))
    if device is not None:
        model.to(device)
    optimizer = build_optimizer(recipe, model.parameters())
    state = TrainingState(model, optimizer, train_loader, next_token_loss, build_scheduler(recipe, optimizer),
                          recipe=recipe, run={"vocabulary": vocabulary.chars})
    return state, vocabulary, train_set, validation_set, validation_loader


def train_language_model(out_dir: Path, recipe: dict, resume, saved, progress: bool, log: Callable[[str], None],
                         device: str | None = None) -> dict:
    """Train a charlm recipe into ``out_dir`` (checkpoint.npz after every epoch, history.json, curves.png)."""
    text = corpus_text(recipe)
    state, vocabulary, train_set, validation_set, validation_loader = build_language_state(recipe, text, device)
    baseline = unigram_bits(text)
    source = recipe["text"] if recipe["dataset"] == "text" else recipe["dataset"]
    shape = (f"{recipe['layers']} × {recipe['width']}" if recipe["arch"] == "lstm" else
             f"{recipe['layers']} blocks × {recipe['width']}, {recipe['heads']} heads")
    log(f"chainrule train: charlm ({recipe['arch']}, {shape}) on {source} ({len(text):,} characters, "
        f"{len(vocabulary)} distinct; {len(train_set)} train / {len(validation_set)} val windows of "
        f"{recipe['context']}), {recipe['optimizer']} lr={recipe['lr']}, batch {recipe['batch_size']}, "
        f"{recipe['epochs']} epoch{'s' if recipe['epochs'] != 1 else ''}, seed {recipe['seed']}"
        + (f", on {device}" if device is not None else ""))
    log(f"unigram entropy of the corpus: {baseline:.3f} bits/char")
    started = time.perf_counter()
    history = fit_state(state, epochs=recipe["epochs"], test_loader=validation_loader,
                        checkpoint=out_dir / "checkpoint.npz", resume=resume, resume_contents=saved,
                        progress=progress, log=log, columns=COLUMNS, add_to_row=add_bits)
    seconds = time.perf_counter() - started
    final = history[-1]
    (out_dir / "history.json").write_text(json.dumps(history, indent=1))
    written = ["checkpoint.npz"]
    try:
        plot_bits_per_character(history, baseline, out_dir / "curves.png")
        written.append("curves.png")
    except ImportError as missing:
        log(f"warning: no plot drawn ({missing.name or 'matplotlib'} is not installed: pip install matplotlib)")
    log(f"validation {final['test_bits']:.3f} bits/char (unigram {baseline:.3f}) after {len(history)} "
        f"epoch{'s' if len(history) != 1 else ''} in {seconds:.1f} s; wrote {out_dir}/{', '.join(written)}")
    prompt = " --prompt 'The '" if set("The ") <= set(vocabulary.chars) else ""  # words have no spaces
    log(f"sample it: chainrule sample {out_dir / 'checkpoint.npz'}{prompt} --length 300")
    return {"test_bits": final["test_bits"], "unigram_bits": baseline, "seconds": seconds, "history": history}


def load_language_model(path) -> tuple:
    """``(model, vocabulary, recipe)`` rebuilt from a charlm checkpoint, in eval mode."""
    model_state, _, meta = load_checkpoint(path)
    recipe = checkpoint_recipe(path, meta)
    chars = (meta.get("run") or {}).get("vocabulary")
    if recipe["model"] != "charlm" or not isinstance(chars, str):
        raise CheckpointError(f"{path}: holds a {recipe['model']} model, not a charlm one, so it cannot be sampled")
    vocabulary = data.CharVocabulary(chars)
    model = build_language_model(recipe, len(vocabulary))
    try:
        model.load_state_dict(model_state)
    except CheckpointError as misfit:
        raise CheckpointError(f"{path}: {misfit}") from None
    model.eval()
    return model, vocabulary, recipe


def evaluate_language_checkpoint(path, log: Callable[[str], None] = print) -> dict:
    """A charlm checkpoint's loss on its corpus's validation text, in bits per character."""
    model, vocabulary, recipe = load_language_model(path)
    text = corpus_text(recipe)
    validation = data.CharDataset(data.split_text(text, VALIDATION)[1], vocabulary, recipe["context"])
    result = evaluate(model, data.DataLoader(validation, batch_size=recipe["batch_size"]), next_token_loss)
    result["bits"] = result["loss"] / math.log(2)
    log(f"{path}: charlm ({recipe['arch']}) on {recipe.get('text') or recipe['dataset']} validation text: "
        f"{result['bits']:.3f} bits/char (unigram {unigram_bits(text):.3f}), next-char accuracy {result['acc']:.2%}")
    return result


def sample(model, vocabulary: data.CharVocabulary, prompt: str = "", length: int = 200, temperature: float = 1.0,
           seed: int = 0) -> str:
    """``length`` characters continuing ``prompt``, each drawn from softmax(logits / ``temperature``) by a
    generator seeded with ``seed`` (the same seed, the same text); temperature 0 takes the most likely
    character. An empty prompt starts after a newline (or the vocabulary's first character)."""
    if temperature < 0 or not math.isfinite(temperature):
        raise ValueError(f"sample: temperature must be a finite number ≥ 0, got {temperature}")
    if length < 0:
        raise ValueError(f"sample: length must be ≥ 0, got {length}")
    start = prompt or ("\n" if "\n" in vocabulary.chars else vocabulary.chars[0])
    rng = numpy.random.default_rng(seed)
    tokens, state, generated = vocabulary.encode(start)[None, :], None, []
    with no_grad():
        for _ in range(length):
            logits, state = model.next_logits(Tensor(tokens), state)
            scores = numpy.asarray(logits.numpy(), dtype=numpy.float64)
            if temperature == 0:
                choice = int(scores.argmax())
            else:
                scores = scores / temperature
                p = numpy.exp(scores - scores.max())
                choice = int(rng.choice(len(p), p=p / p.sum()))
            generated.append(choice)
            tokens = numpy.array([[choice]], dtype=numpy.int64)
    return prompt + vocabulary.decode(generated)
