"""Plain-text rendering shared by the inspection tools: shapes, sizes, times, tables."""
from __future__ import annotations

import unicodedata


def format_shape(shape: tuple) -> str:
    """``(128, 784)`` as ``(128×784)``; a scalar as ``()``."""
    return "(" + "×".join(str(n) for n in shape) + ")"


def format_bytes(nbytes: int) -> str:
    """Bytes in binary units with one decimal: ``392.0 KiB``."""
    if nbytes < 1024:
        return f"{nbytes} B"
    value = nbytes / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def format_seconds(seconds: float | None) -> str:
    """A duration in the unit that keeps it readable (µs, ms or s); ``—`` when absent."""
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: combining accents (the hat of x̂) take none."""
    return sum(not unicodedata.combining(c) for c in text)


def render_table(header: list[str], rows: list[list[str]], right_aligned: set[int] = frozenset()) -> str:
    """Columns padded to their widest cell, separated by two spaces, with a rule under
    the header; the columns whose index is in ``right_aligned`` are right-aligned."""
    widths = [max(display_width(cells[i]) for cells in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = []
        for i, (cell, width) in enumerate(zip(cells, widths)):
            padding = " " * (width - display_width(cell))
            padded.append(padding + cell if i in right_aligned else cell + padding)
        return "  ".join(padded).rstrip()

    return "\n".join([line(header), "  ".join("─" * w for w in widths), *(line(r) for r in rows)])
