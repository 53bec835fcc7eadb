"""PNG plots of a training run: loss and accuracy curves, a confusion matrix, a language model's bits per character."""
from __future__ import annotations

import os
from pathlib import Path

import numpy


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: list[dict], path: str | os.PathLike) -> Path:
    """Loss and accuracy per epoch, train and test side by side."""
    plt = _pyplot()
    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("train_loss", "train"), ("test_loss", "test")):
        ax_loss.plot(epochs, [row.get(key) for row in history], marker="o", label=label)
    for key, label in (("train_acc", "train"), ("test_acc", "test")):
        ax_acc.plot(epochs, [100 * row[key] for row in history if key in row], marker="o", label=label)
    ax_loss.set(title="loss", xlabel="epoch", ylabel="cross-entropy")
    ax_acc.set(title="accuracy", xlabel="epoch", ylabel="%")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
        _whole_epochs(ax, epochs)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_bits_per_character(history: list[dict], unigram_bits: float, path: str | os.PathLike) -> Path:
    """A language model's train and validation loss per epoch in bits per character, with the corpus's
    unigram entropy as a line: the loss of a model that knows only how often each character occurs."""
    plt = _pyplot()
    epochs = [row["epoch"] for row in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("train_bits", "train"), ("test_bits", "validation")):
        ax.plot(epochs, [row.get(key) for row in history], marker="o", label=label)
    ax.axhline(unigram_bits, color="gray", linestyle="--", label=f"unigram entropy ({unigram_bits:.2f})")
    ax.set(title="character-level language model", xlabel="epoch", ylabel="bits per character")
    highest = max([unigram_bits] + [row[key] for row in history for key in ("train_bits", "test_bits") if key in row])
    ax.set_ylim(0, 1.15 * highest)
    _whole_epochs(ax, epochs)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def _whole_epochs(ax, epochs: list) -> None:
    """Epochs are whole: a tick at each (no 0.96 … 1.04 around a single epoch), or whole ones when many."""
    from matplotlib.ticker import MaxNLocator

    if len(epochs) <= 20:
        ax.set_xticks(epochs)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_confusion_matrix(counts: numpy.ndarray, class_names: list[str], path: str | os.PathLike) -> Path:
    """A confusion matrix with class names, counts in each cell, rows = true class."""
    plt = _pyplot()
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * n, 0.8 + 0.7 * n))
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix (test set)")
    threshold = counts.max() / 2 if counts.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if counts[i, j] > threshold else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
