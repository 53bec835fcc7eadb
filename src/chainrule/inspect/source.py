"""Where in the user's code an op was called: the first stack frame outside chainrule."""
from __future__ import annotations

import linecache
import os
import sys
from dataclasses import dataclass

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


@dataclass(frozen=True)
class SourceLine:
    """A file, a line number in it, and that line's text (stripped; empty if unreadable)."""

    file: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{os.path.basename(self.file)}:{self.line}"


def caller_outside_chainrule() -> SourceLine | None:
    """The innermost frame of the current stack whose code is not in the chainrule package.

    A layer's op is attributed to the user's line that called the model, not to the line
    inside ``nn`` that called the op: that is the line a user can find and change.
    """
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_PACKAGE_DIR):
            return SourceLine(frame.f_code.co_filename, frame.f_lineno,
                              linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip())
        frame = frame.f_back
    return None
