"""Text for character-level language models: the corpora that ship with Debian, a vocabulary of
characters, and next-character windows a DataLoader batches.

    text = data.fortunes_text()                   # Debian's fortunes package, ~2.5 million characters
    vocabulary = data.CharVocabulary.from_text(text)
    train = data.CharDataset(text, vocabulary, context=128)
    x, y = train[0]                               # int64 (128,) each: y is x shifted by one character

``words_text()`` is Debian's ``wamerican`` word list, one word per line in a fixed shuffled order
(makemore's task, with English words for names); ``read_text(path)`` reads any UTF-8 file.
"""
from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import numpy

from ..errors import DataFormatError
from .loader import TensorDataset
from .locate import DatasetNotFoundError

FORTUNES_DIRS = ("/usr/share/games/fortunes", "/usr/share/fortunes")
WORDS_FILES = ("/usr/share/dict/american-english", "/usr/share/dict/words")


class CharVocabulary:
    """The characters of a text, in sorted order: ``encode`` maps a string to int64 ids, ``decode``
    maps ids back. ``chars`` (a plain string) is all a checkpoint needs to rebuild it."""

    def __init__(self, chars: str):
        if len(set(chars)) != len(chars) or not chars:
            raise ValueError(f"CharVocabulary: needs distinct characters, at least one; got {len(chars)} "
                             f"characters of which {len(set(chars))} distinct")
        self.chars = chars
        self._ids = {char: i for i, char in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocabulary:
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> numpy.ndarray:
        """int64 ids of ``text``; a KeyError naming the first character outside the vocabulary."""
        unknown = set(text) - self._ids.keys()
        if unknown:
            shown = ", ".join(repr(char) for char in sorted(unknown)[:5])
            raise KeyError(f"CharVocabulary: {len(unknown)} character(s) not in the vocabulary of "
                           f"{len(self)}: {shown}")
        return numpy.fromiter((self._ids[char] for char in text), dtype=numpy.int64, count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in numpy.asarray(ids).ravel())

    def __repr__(self) -> str:
        return f"CharVocabulary({len(self)} characters)"


class CharDataset(TensorDataset):
    """Next-character prediction over ``text`` in non-overlapping windows of ``context`` characters:
    sample i is ``(ids[i·T : i·T + T], ids[i·T + 1 : i·T + T + 1])`` with T = ``context``, both int64 (T,).
    ``len`` is ⌊(len(text) − 1) / T⌋; a DataLoader batches it by slicing, as any TensorDataset."""

    def __init__(self, text: str, vocabulary: CharVocabulary, context: int):
        if isinstance(context, bool) or not isinstance(context, int) or context < 1:
            raise ValueError(f"CharDataset: context must be a positive integer, got {context!r}")
        ids = vocabulary.encode(text)
        windows = (len(ids) - 1) // context
        if windows < 1:
            raise ValueError(f"CharDataset: a text of {len(text)} characters holds no window of {context} + 1; "
                             f"use a longer text or a shorter context")
        span = windows * context
        super().__init__(ids[:span].reshape(windows, context), ids[1:span + 1].reshape(windows, context))
        self.vocabulary, self.context = vocabulary, context


def read_text(path: str | os.PathLike) -> str:
    """The whole UTF-8 text of ``path``; DataFormatError naming the file and the byte offset when it
    is not UTF-8, FileNotFoundError when it is missing."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        raise DataFormatError(f"{path}: not UTF-8 text (byte {bad.start}: {raw[bad.start:bad.start + 1]!r}); "
                              f"convert it, e.g. iconv -t UTF-8") from None


def _printable(text: str) -> str:
    """``text`` without control characters but newline and tab: some fortunes use backspaces for
    overstrike and bells, which a sample should not print."""
    return "".join(char for char in text if char in "\n\t" or unicodedata.category(char)[0] != "C")


def fortunes_text(directory: str | os.PathLike | None = None) -> str:
    """Every fortune file of Debian's ``fortunes`` package (``apt-get install fortunes``), in name order,
    control characters removed; fortunes are separated by lines holding ``%``."""
    folder = _first_existing([directory] if directory is not None else FORTUNES_DIRS, "fortunes",
                             "apt-get install fortunes")
    files = sorted(path for path in folder.iterdir()
                   if path.is_file() and not path.is_symlink() and path.suffix not in (".dat", ".u8"))
    if not files:
        raise DatasetNotFoundError(f"{folder} holds no fortune files; reinstall them: apt-get install --reinstall fortunes")
    return "".join(_printable(path.read_bytes().decode("utf-8", errors="ignore")) for path in files)


def words_text(path: str | os.PathLike | None = None, seed: int = 0) -> str:
    """The words of Debian's ``wamerican`` list (``apt-get install wamerican``), possessives ('s) left out,
    one per line, shuffled by ``seed`` (the list is alphabetical, and a validation split of it would
    hold only the last letters)."""
    file = _first_existing([path] if path is not None else WORDS_FILES, "wamerican", "apt-get install wamerican")
    words = [word for word in read_text(file).split("\n") if word and not word.endswith("'s")]
    order = numpy.random.default_rng(seed).permutation(len(words))
    return "".join(words[i] + "\n" for i in order)


def split_text(text: str, validation: float = 0.1) -> tuple[str, str]:
    """(the first 1 − ``validation`` of ``text``, the rest): the validation part is text the model never saw."""
    if not 0.0 < validation < 1.0:
        raise ValueError(f"split_text: validation must be a fraction in (0, 1), got {validation}")
    cut = int(round(len(text) * (1.0 - validation)))
    return text[:cut], text[cut:]


def _first_existing(candidates, package: str, install: str) -> Path:
    for candidate in candidates:
        if candidate is not None and Path(candidate).exists():
            return Path(candidate)
    raise DatasetNotFoundError(
        f"Debian's {package} package is not installed (looked in {', '.join(map(str, candidates))}): "
        f"run '{install}' as root (make train does), or pass --text FILE with any UTF-8 text")
