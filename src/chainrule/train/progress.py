"""What a person watches during training: a progress bar per epoch and a table row after it."""
from __future__ import annotations

import sys
from typing import Callable


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, initial: int = 0, desc: str = "", enabled: bool = True):
    """A tqdm bar on stderr, or a silent stand-in when disabled, tqdm is missing, or stderr is
    not a terminal (a log file gets the epoch table, not every update of the bar)."""
    if not enabled or not _is_terminal(sys.stderr):
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, initial=initial, desc=desc, unit="batch", leave=False, file=sys.stderr,
                dynamic_ncols=True)


COLUMNS = (("epoch", "epoch", "{:d}"), ("train_loss", "train loss", "{:.4f}"),
           ("train_acc", "train acc", "{:.2%}"), ("test_loss", "test loss", "{:.4f}"),
           ("test_acc", "test acc", "{:.2%}"), ("seconds", "seconds", "{:.1f}"),
           ("samples_per_s", "samples/s", "{:.0f}"))
"""The table of a classifier: (key of the history row, title, format)."""


class EpochTable:
    """Prints one aligned row per epoch; a column missing from a row shows "-". ``columns``:
    (key, title, format) triples, COLUMNS by default."""

    def __init__(self, log: Callable[[str], None] = print, columns: tuple = COLUMNS):
        self.log = log
        self.columns = columns

    def header(self) -> None:
        self.log("  ".join(title.rjust(len(title)) for _, title, _ in self.columns))

    def row(self, values: dict) -> None:
        self.log("  ".join((fmt.format(values[key]) if key in values else "-").rjust(len(title))
                           for key, title, fmt in self.columns))
