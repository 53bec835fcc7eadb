"""An op's backward formula, with the shapes of one node's actual arrays put in.

Every op class carries ``formula``, its derivation written once: the forward, ``⇒``, then
one clause per input, ``d<input> = <expression>``, separated by ", ", naming inputs as its ``forward`` does (``Linear.forward(x, W, b)``:
``"dx = dy·W, dW = dyᵀ·x, db = Σ_batch dy"``); ``y`` is the output and ``dy`` the
gradient arriving from above. Inputs gathered by ``*args`` take the names of the
clauses left over, in order (``BatchNorm``'s ``dγ``, ``dβ``), or, for one clause on a
subscripted name such as ``dxᵢ``, one clause per input (``dx₁``, ``dx₂``, …).
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from .text import format_shape

_CLAUSE_SEPARATOR = re.compile(r",\s+(?=d[^\s=,]+\s*=)")
_SUBSCRIPT_I = "ᵢ"
_SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_TRANSPOSE = "ᵀ"
# What an expression may hold besides symbols for its shapes to be written in its
# place: a product, sum or total of whole arrays, e.g. "dy·W", "dyᵀ·x", "Σ_batch dy".
_PLAIN_ARITHMETIC = re.compile(r"(?:[\s·+−\-()]|Σ(?:_\w+)?)*")


@dataclass(frozen=True)
class Clause:
    """One gradient of one node: ``text`` as in the formula (with the input's name),
    ``shapes`` the operands' run-time shapes, ``result`` the gradient's shape."""

    text: str
    shapes: str
    result: tuple


def formula_of(fn) -> str | None:
    """The gradient clauses of ``fn``'s ``formula`` (the text after ``⇒``, where the formula
    states its forward first), as this instance computes them, options included; None for a
    Function that has none (a user's own)."""
    text = getattr(fn, "formula", None)
    if not isinstance(text, str):
        return None
    return text.partition("⇒")[2].strip() or text


def split_clauses(formula: str) -> list[tuple[str, str]]:
    """``"dx = dy·W, dW = dyᵀ·x"`` as ``[("x", "dy·W"), ("W", "dyᵀ·x")]``."""
    clauses = []
    for clause in _CLAUSE_SEPARATOR.split(formula):
        left, _, right = clause.partition("=")
        clauses.append((left.strip()[1:], right.strip()))
    return clauses


def input_names(fn, clause_names: list[str]) -> list[str]:
    """The name of each input of ``fn``: its ``forward`` parameters, then, for inputs
    gathered by ``*args``, the clause names not taken by a parameter."""
    names, variadic = [], False
    for parameter in list(inspect.signature(type(fn).forward).parameters.values())[1:]:
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            variadic = True
        else:
            names.append(parameter.name)
    count = len(fn.inputs)
    if not variadic or count <= len(names):
        return names[:count]
    extra = [name for name in clause_names if name not in names]
    if len(extra) == 1 and extra[0].endswith(_SUBSCRIPT_I):
        stem = extra[0][: -len(_SUBSCRIPT_I)]
        return names + [stem + str(i).translate(_SUBSCRIPT_DIGITS) for i in range(1, count - len(names) + 1)]
    return names + extra[: count - len(names)]


def _symbol_pattern(symbols) -> re.Pattern:
    alternatives = "|".join(re.escape(s) for s in sorted(symbols, key=len, reverse=True))
    # Not inside a longer word ("batch" holds "b"), nor under a combining accent ("x̂" is not x).
    return re.compile(rf"(?<![\w.])({alternatives})({_TRANSPOSE})?(?![\w\u0300-\u036f])")


def annotate(expression: str, shapes: dict[str, tuple]) -> str:
    """The operands' shapes for ``expression``: written in place of the symbols when it
    is a plain product or sum (``(10×128)·(128×512)``), else listed (``dy (128×10), y (128×10)``)."""
    pattern = _symbol_pattern(shapes)
    found = list(pattern.finditer(expression))
    if not found:
        return ""
    leftover = pattern.sub("", expression)
    if _PLAIN_ARITHMETIC.fullmatch(leftover):
        return pattern.sub(lambda m: format_shape(_maybe_transposed(shapes[m[1]], m[2])), expression)
    listed = dict.fromkeys(m[1] for m in found)
    return ", ".join(f"{name} {format_shape(shapes[name])}" for name in listed)


def _maybe_transposed(shape: tuple, mark: str | None) -> tuple:
    return shape[:-2] + shape[-2:][::-1] if mark else shape


def applied_clauses(fn, output_shape: tuple) -> list[Clause] | None:
    """The clauses of ``fn``'s formula that its backward will apply — one per input that
    needs a gradient — with the shapes of this node's inputs and of its output
    (``output_shape``); None when the op has no formula."""
    formula = formula_of(fn)
    if formula is None:
        return None
    clauses = split_clauses(formula)
    names = input_names(fn, [name for name, _ in clauses])
    shapes = {"y": output_shape, "dy": output_shape}
    shapes.update((name, tuple(t.shape)) for name, t in zip(names, fn.inputs))
    needed = {name for name, wants in zip(names, fn.needs_input_grad) if wants}
    result = []
    for name, expression in _expand_subscripts(clauses, names):
        if name in needed:
            result.append(Clause(f"d{name} = {expression}", annotate(expression, shapes), shapes[name]))
    return result


def _expand_subscripts(clauses: list[tuple[str, str]], names: list[str]) -> list[tuple[str, str]]:
    """A clause on ``xᵢ`` once per input it stands for, with ``xᵢ`` replaced by ``x₁``, ``x₂``, …"""
    expanded = []
    for name, expression in clauses:
        if not name.endswith(_SUBSCRIPT_I):
            expanded.append((name, expression))
            continue
        stem = name[: -len(_SUBSCRIPT_I)]
        numbered = re.compile(re.escape(stem) + "[₀-₉]+")
        expanded.extend((concrete, expression.replace(name, concrete))
                        for concrete in names if numbered.fullmatch(concrete))
    return expanded
