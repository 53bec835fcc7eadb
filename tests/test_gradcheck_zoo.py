"""Every broken Function of the zoo fails cr.gradcheck with its own diagnosis; every
correct twin passes. By hand (the raw backward) and, where the graph engine lets the
bug through, through the graph."""
import numpy as np
import pytest
from broken_functions import (
    ZOO,
    AffineAccumulating,
    MatVec,
    Multiply,
    MultiplySwapped,
    Softmax,
    SoftmaxInPlace,
    SoftmaxNoProjection,
    SquaredErrorLoss,
    SquaredErrorLossNoMean,
    Subtract,
    SubtractSignFlipped,
    Tanh,
    TanhIgnoresUpstream,
    TanhSumsUpstream,
)

import chainrule as cr

REQUIRED = [
    "sign flip", "times batch size", "times two", "transposed weight gradient", "missing broadcast sum",
    "ignored upstream gradient", "upstream gradient replaced by its sum", "accumulating instead of assigning",
    "stale cache", "input mutated in place", "gradients of two inputs swapped",
    "softmax backward missing its projection term", "layer-norm backward missing a term",
]


def test_the_zoo_holds_every_required_bug():
    assert set(REQUIRED) <= {specimen.name for specimen in ZOO}


@pytest.mark.parametrize("specimen", ZOO, ids=lambda s: s.name)
def test_broken_function_fails_with_its_diagnosis(specimen):
    with pytest.raises(cr.GradcheckError) as caught:
        cr.gradcheck(specimen.broken, specimen.inputs())
    report = caught.value.report
    assert not report.passed
    assert report.codes == {specimen.code}, str(report)
    assert (specimen.code, specimen.subject) in {(d.code, d.subject) for d in report.diagnoses}
    assert specimen.message_contains in str(report)


@pytest.mark.parametrize("specimen", ZOO, ids=lambda s: s.name)
def test_correct_twin_passes(specimen):
    report = cr.gradcheck(specimen.correct, specimen.inputs())
    assert report.passed, str(report)
    assert report.codes == set()


@pytest.mark.parametrize("specimen", ZOO, ids=lambda s: s.name)
def test_an_instance_checks_like_its_class(specimen):
    broken = cr.gradcheck(specimen.broken(), specimen.inputs(), raise_on_fail=False)
    assert broken.codes == {specimen.code}
    assert cr.gradcheck(specimen.correct(), specimen.inputs()).passed


def _through_graph(function_class):
    def call(*tensors):
        return function_class()(*tensors)

    return call


rng = np.random.default_rng(99)
THROUGH_THE_GRAPH = [
    (SubtractSignFlipped, Subtract, [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))], "sign_flipped"),
    (SquaredErrorLossNoMean, SquaredErrorLoss, [rng.standard_normal((8, 3)), rng.standard_normal((8, 3))], "scaled"),
    (TanhIgnoresUpstream, Tanh, [rng.standard_normal((3, 4))], "ignores_upstream"),
    (TanhSumsUpstream, Tanh, [rng.standard_normal((3, 4))], "ignores_upstream"),
    (AffineAccumulating, MatVec, [rng.standard_normal((5, 4)), rng.standard_normal((3, 4))], "accumulates"),
    (MultiplySwapped, Multiply, [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))], "swapped_inputs"),
    (SoftmaxInPlace, Softmax, [rng.standard_normal((3, 5))], "mutates_input"),
    (SoftmaxNoProjection, Softmax, [rng.standard_normal((3, 5))], "unexplained"),
]


@pytest.mark.parametrize("broken, correct, inputs, code", THROUGH_THE_GRAPH, ids=lambda v: getattr(v, "__name__", ""))
def test_through_the_graph_the_same_bugs_are_found(broken, correct, inputs, code):
    report = cr.gradcheck(_through_graph(broken), inputs, raise_on_fail=False)
    assert report.codes == {code}, str(report)
    assert cr.gradcheck(_through_graph(correct), inputs).passed
