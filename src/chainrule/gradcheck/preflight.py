"""Pre-flight checks: cheap questions asked before any finite difference.

1. Is forward deterministic: the same output twice, each run after re-seeding?
2. Are the inputs unchanged by forward, and the inputs and G unchanged by backward?
3. Does backward(G) twice on one forward give the same result? (Exactly twice as
   much means it accumulates into a kept array instead of assigning a fresh one.)
4. Is backward linear in G: backward(0) = 0 and backward(2G) = 2·backward(G)?
5. Do two different G with the same sum give different gradients? Only a clue, used
   when the numerical check fails too: a gradient that legitimately is a sum of G
   (a broadcast scalar's) gives the same result for both.
6. After the Function, or Module, has run on other inputs, does backward still give
   the gradient of its own forward (no stale cache)?
7. Do the gradients keep their inputs' dtypes? (Shapes are judged in diagnose.py.)
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .report import Diagnosis
from .target import copies


@dataclasses.dataclass
class Preflight:
    """What the pre-flight checks found, and the first backward's raw gradients (one per slot)."""

    output: np.ndarray
    upstream: np.ndarray | None
    gradients: list
    diagnoses: list[Diagnosis]
    sums_upstream: set[str]
    mutates_inputs: bool
    halted: bool


def upstream_gradient(shape: tuple, dtype, seed: int) -> np.ndarray:
    """A random Gaussian G: never all ones, so that a summed or ignored G shows."""
    return np.random.default_rng([seed, 0]).standard_normal(shape).astype(dtype)


def run_preflight(target, arrays: list[np.ndarray], seed: int) -> Preflight:
    slots, names = target.slots, target.names
    diagnoses: list[Diagnosis] = []
    work = copies(arrays)
    session = target.open(work)
    output = session.output
    if output.dtype.kind != "f":
        raise TypeError(f"gradcheck: {target.description} returned a {output.dtype} output; only a floating "
                        f"output has gradients")
    diagnoses += _mutations(work, arrays, names, "forward")
    again = target.evaluate(copies(arrays))
    if not _same(output, again):
        diagnoses.append(Diagnosis("nondeterministic", _nondeterminism(output, again)))
        return Preflight(output, None, [None] * len(slots), diagnoses, set(), True, True)

    upstream = upstream_gradient(output.shape, output.dtype, seed)
    after_forward = copies(work)
    sent = upstream.copy()
    first = session.backward(sent)
    diagnoses += _mutations(work, after_forward, names, "backward")
    if not np.array_equal(sent, upstream, equal_nan=True):
        diagnoses.append(Diagnosis("mutates_input", "backward wrote into the upstream gradient G it was given; "
                                   "compute into a new array (dy * mask, not dy *= mask)"))
    if session.arity_error:
        diagnoses.append(Diagnosis("wrong_shape", session.arity_error))
    second = session.backward(upstream.copy())
    flagged = set()
    for slot, g1, g2 in zip(slots, first, second):
        if not _same(g1, g2):
            flagged.add(slot.name)
            diagnoses.append(_repeat_diagnosis(slot.name, g1, g2))

    zero = target.open(copies(arrays)).backward(np.zeros_like(upstream))
    doubled = target.open(copies(arrays)).backward(upstream * 2)
    for slot, g, g0, g2 in zip(slots, first, zero, doubled):
        if g0 is not None and np.any(g0[np.isfinite(g0)] != 0):
            diagnoses.append(Diagnosis("ignores_upstream", "backward(0) is not 0: part of the gradient does not "
                                       "scale with the upstream gradient (is dy left out of a product?)", slot.name))
        elif g is not None and not _same(g2, g * 2):
            diagnoses.append(Diagnosis("ignores_upstream", "backward is not linear in the upstream gradient: "
                                       "backward(2G) ≠ 2·backward(G)", slot.name))

    sums_upstream = set()
    if upstream.size > 1:
        shift = np.random.default_rng([seed, 2]).standard_normal(upstream.shape)
        same_sum = (upstream + (shift - shift.mean())).astype(upstream.dtype)
        for slot, g, g_same_sum in zip(slots, first, target.open(copies(arrays)).backward(same_sum)):
            if g is not None and np.any(g != 0) and _same(g, g_same_sum):
                sums_upstream.add(slot.name)

    other = _elsewhere(arrays, slots, seed)
    for slot, clean, got in zip(slots, *target.stale_probe(arrays, other, upstream)):
        if slot.name not in flagged and not _same(clean, got):
            diagnoses.append(Diagnosis("stale_cache", target.stale_message, slot.name))

    for slot, g in zip(slots, first):
        expected = arrays[slot.position].dtype
        if g is not None and g.dtype != expected:
            diagnoses.append(Diagnosis("wrong_dtype", f"backward returned a {g.dtype} gradient for a {expected} input: "
                                       f"gradients keep their input's dtype (no silent casts)", slot.name))
    mutates = any(d.code == "mutates_input" for d in diagnoses)
    return Preflight(output, upstream, first, diagnoses, sums_upstream, mutates, False)


def _same(x, y) -> bool:
    """Equal up to the rounding of a reordered sum (NaN equals NaN)."""
    if x is None or y is None:
        return x is None and y is None
    if x.shape != y.shape:
        return False
    if x.dtype.kind != "f" or y.dtype.kind != "f":
        return np.array_equal(x, y)
    finite = np.abs(np.concatenate([x[np.isfinite(x)].ravel(), y[np.isfinite(y)].ravel()]).astype(np.float64))
    rel = 1e-12 if x.dtype == y.dtype == np.float64 else 1e-5
    bound = rel * (finite.max() if finite.size else 0.0)
    with np.errstate(invalid="ignore"):
        close = np.abs(x.astype(np.float64) - y.astype(np.float64)) <= bound
    return bool(np.all(close | (np.isnan(x) & np.isnan(y)) | (x == y)))


def _first_difference(now: np.ndarray, was: np.ndarray) -> tuple[int, tuple, float, float]:
    same = now == was
    if now.dtype.kind == "f":
        same |= np.isnan(now) & np.isnan(was)
    differs = ~same
    where = np.argwhere(differs)
    index = tuple(int(i) for i in where[0])
    return len(where), index, now[index], was[index]


def _mutations(arrays: list[np.ndarray], before: list[np.ndarray], names: list[str], stage: str) -> list[Diagnosis]:
    found = []
    for name, now, was in zip(names, arrays, before):
        if now.shape != was.shape or np.array_equal(now, was, equal_nan=now.dtype.kind == "f"):
            continue
        count, index, new, old = _first_difference(now, was)
        found.append(Diagnosis(
            "mutates_input",
            f"{stage} changed {name} in place ({count} of {now.size} elements; e.g. {list(index)}: "
            f"{old:.6g} → {new:.6g}); write to a new array instead (x = x - m, not x -= m)", name))
    return found


def _nondeterminism(first: np.ndarray, second: np.ndarray) -> str:
    if first.shape != second.shape:
        detail = f"shapes {first.shape} and {second.shape}"
    else:
        count, index, new, old = _first_difference(second, first)
        detail = f"{count} of {first.size} elements differ; e.g. {list(index)}: {old:.6g} then {new:.6g}"
    return ("two forward passes on the same inputs, each after re-seeding chainrule's and NumPy's global "
            f"generators, gave different outputs ({detail}): the forward draws randomness gradcheck cannot "
            "re-seed (e.g. numpy.random.default_rng() without a seed), so finite differences are meaningless")


def _repeat_diagnosis(name: str, first, second) -> Diagnosis:
    if first is not None and second is not None and np.any(first != 0) and _same(second, first * 2):
        return Diagnosis("accumulates", "a second backward(G) on the same forward returned twice the first: "
                         "backward adds into a gradient it keeps (+=) instead of returning a fresh one", name)
    return Diagnosis("stale_cache", "a second backward(G) on the same forward returned something else: backward "
                     "changes state it relies on (e.g. writes into an array that forward saved)", name)


def _elsewhere(arrays: list[np.ndarray], slots, seed: int) -> list[np.ndarray]:
    """Another point: each checked array shrunk by up to 20% elementwise (same signs, same domain)."""
    rng = np.random.default_rng([seed, 3])
    other = copies(arrays)
    for slot in slots:
        x = other[slot.position]
        other[slot.position] = (x * (1 - 0.2 * rng.random(x.shape))).astype(x.dtype)
    return other
