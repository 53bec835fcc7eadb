"""The checker on the library's own ops: every registered op passes it, and correct
ops with kinks (relu, max, abs) never raise a false alarm, over hundreds of seeds."""
import collections

import numpy as np
import pytest
from op_cases import CASES

import chainrule as cr
from chainrule.ops import REGISTRY

CASES_PER_OP = 2


def _differentiable(case) -> bool:
    """A floating input and a floating output: something for the checker to check."""
    if not any(np.asarray(a).dtype.kind == "f" for a in case.inputs):
        return False
    with cr.no_grad():
        return case.fn(*[cr.Tensor(np.asarray(a)) for a in case.inputs]).dtype.kind == "f"


def _walk():
    """The first CASES_PER_OP differentiable verification cases of every op."""
    chosen = collections.defaultdict(list)
    for case in CASES:
        if len(chosen[case.op]) < CASES_PER_OP and _differentiable(case):
            chosen[case.op].append(case)
    return [case for cases in chosen.values() for case in cases]


WALK = _walk()


def test_the_walk_reaches_every_registered_op():
    assert {case.op for case in WALK} == set(REGISTRY)


@pytest.mark.parametrize("case", WALK, ids=str)
def test_every_op_passes_the_checker(case):
    report = cr.gradcheck(case.fn, list(case.inputs))
    assert report.passed, str(report)


KINKED = {
    "relu": (cr.relu, lambda rng: [rng.standard_normal((4, 5))]),
    "abs": (cr.abs, lambda rng: [rng.standard_normal((4, 5))]),
    "max over an axis": (lambda x: x.max(axis=1), lambda rng: [rng.standard_normal((4, 5))]),
    "maximum": (cr.maximum, lambda rng: [rng.standard_normal((4, 5)), rng.standard_normal((4, 5))]),
    "relu mlp": (lambda x, w: cr.relu(x @ w).sum(axis=1), lambda rng: [rng.standard_normal((3, 4)),
                                                                        rng.standard_normal((4, 5))]),
}


def test_two_hundred_checks_of_correct_kinked_ops_raise_no_false_alarm():
    failures = []
    for seed in range(200):
        name = list(KINKED)[seed % len(KINKED)]
        fn, inputs = KINKED[name]
        report = cr.gradcheck(fn, inputs(np.random.default_rng(seed)), seed=seed, raise_on_fail=False)
        if not report.passed:
            failures.append(f"{name}, seed {seed}:\n{report}")
    assert not failures, failures[0]


@pytest.mark.parametrize("move_kinks", [True, False], ids=["kinks moved", "kinks kept"])
@pytest.mark.parametrize("name", ["relu", "abs", "max over an axis", "maximum"])
def test_inputs_exactly_on_kinks_pass(name, move_kinks):
    """Rounded inputs put elements exactly at 0 and into ties; moved away, or accepted as subgradients."""
    fn, inputs = KINKED[name]
    notes = 0
    for seed in range(10):
        rounded = [np.round(a) for a in inputs(np.random.default_rng(seed))]
        report = cr.gradcheck(fn, rounded, seed=seed, move_kinks=move_kinks)
        notes += any(d.code == "kink" and not d.fatal for d in report.diagnoses)
    if name in ("relu", "max over an axis"):  # abs and maximum are symmetric at their kinks: no mismatch to excuse
        assert notes > 0
