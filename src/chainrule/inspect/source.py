"""Where in the user's code an op was called: the first stack frame outside chainrule."""
from __future__ import annotations

import linecache
import os
import sys
import sysconfig
from dataclasses import dataclass

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# The graph machinery itself (and the observers that ask from inside it): an op called
# from here was called on someone's behalf.
_ENGINE = tuple(_PACKAGE_DIR + part for part in ("tensor.py", "anomaly.py", "ops" + os.sep, "inspect" + os.sep))
_STDLIB_DIR = os.path.abspath(sysconfig.get_paths()["stdlib"]) + os.sep
_SITE_DIRS = tuple(os.path.abspath(sysconfig.get_paths()[key]) + os.sep for key in ("purelib", "platlib"))
_SCRIPTS_DIR = os.path.abspath(sysconfig.get_paths()["scripts"]) + os.sep
"""Where pip puts console-script launchers: ``chainrule``'s is a stub that calls cli.main, no
user's code."""


@dataclass(frozen=True)
class SourceLine:
    """A file, a line number in it, and that line's text (stripped; empty if unreadable)."""

    file: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{os.path.basename(self.file)}:{self.line}"


def _source_line(frame) -> SourceLine:
    path = frame.f_code.co_filename
    return SourceLine(path, frame.f_lineno, linecache.getline(path, frame.f_lineno).strip())


def _is_standard_library(path: str, filename: str) -> bool:
    """Python's own code, or a console-script launcher: frames that run a program, not write it."""
    if filename.startswith("<frozen") or path.startswith(_SCRIPTS_DIR):
        return True
    return path.startswith(_STDLIB_DIR) and not path.startswith(_SITE_DIRS)


def caller_outside_chainrule() -> SourceLine | None:
    """The innermost frame of the current stack whose code is not in the chainrule package
    (nor in Python's standard library, which runs scripts and modules).

    A layer's op is attributed to the user's line that called the model, not to the line
    inside ``nn`` that called the op: that is the line a user can find and change. When
    chainrule itself drives the computation (``chainrule train --trace``), it is the
    innermost chainrule line above the ops: the layer's call.
    """
    frame = sys._getframe(1)
    fallback = None
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if path.startswith(_PACKAGE_DIR):
            if fallback is None and not path.startswith(_ENGINE):
                fallback = frame
        elif not _is_standard_library(path, frame.f_code.co_filename):
            return _source_line(frame)
        frame = frame.f_back
    return None if fallback is None else _source_line(fallback)
