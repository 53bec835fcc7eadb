"""cr.gradcheck's contract beyond the zoo: the report's API and printing, what it
accepts (Functions, functions, Modules, params, constants), dtypes and tolerances,
the fast mode, kinks, numerical noise, and leaving the caller's state as it was."""
import numpy as np
import pytest
from broken_functions import (
    AddBias,
    MatVec,
    MultiplySwapped,
    Relu,
    Square,
    SquareTimesTwo,
    Tanh,
)

import chainrule as cr
from chainrule import nn
from chainrule.gradcheck import Diagnosis, ElementError, GradientResult, Jacobians
from chainrule.gradcheck.report import relative_error_band

rng = np.random.default_rng(7)


class TanhWrongAtOneElement(Tanh):
    def backward(self, dy):
        (dx,) = super().backward(dy)
        dx = dx.copy()
        dx[2, 3] *= 1.5
        return (dx,)


class MeanOverBatch(cr.Function):
    """y = mean over axis 0; x: (N, D) → (D,)."""

    def forward(self, x):
        self.n = len(x)
        return x.mean(axis=0)

    def backward(self, dy):
        return (np.broadcast_to(dy / self.n, (self.n,) + dy.shape).copy(),)


class MeanOverBatchDividedTwice(MeanOverBatch):
    def backward(self, dy):
        (dx,) = super().backward(dy)
        return (dx / self.n,)


class MatVecReturnsSwapped(MatVec):
    def backward(self, dy):
        dx, dW = super().backward(dy)
        return dW, dx


class ReluWrongAtZero(Relu):
    """Right everywhere except exactly at 0, where 2 is no subgradient of relu."""

    def forward(self, x):
        self.zero = x == 0
        return super().forward(x)

    def backward(self, dy):
        (dx,) = super().backward(dy)
        return (dx + 2 * dy * self.zero,)


class SquareInFloat32(Square):
    """x² rounded through float32: a float64 reference for it carries float32 noise."""

    def forward(self, x):
        self.x = x
        return (x.astype(np.float32) ** 2).astype(x.dtype)


# -- the report -----------------------------------------------------------------
def test_the_worst_element_is_the_broken_one():
    report = cr.gradcheck(TanhWrongAtOneElement, [rng.standard_normal((3, 4))], raise_on_fail=False)
    gradient = report.gradients[0]
    assert gradient.status == "FAIL"
    assert gradient.worst.index == (2, 3)
    assert gradient.worst.verdict == "mismatch"
    assert gradient.worst.analytical == pytest.approx(1.5 * gradient.worst.numerical, rel=1e-6)
    assert report.worst(1)[0].index == (2, 3)
    assert "1 of 12 elements" in str(report)


def test_worst_lists_elements_by_how_far_beyond_their_tolerance():
    report = cr.gradcheck(SquareTimesTwo, [rng.standard_normal((3, 5))], raise_on_fail=False)
    worst = report.worst(4)
    assert len(worst) == 4 and all(isinstance(e, ElementError) for e in worst)
    excess = [e.abs_error / e.tolerance for e in worst]
    assert excess == sorted(excess, reverse=True)
    assert all(e.rel_error == pytest.approx(0.5) and e.band == "wrong (>1e-2)" for e in worst)


def test_the_report_prints_a_short_table_never_a_matrix():
    x = rng.standard_normal((40, 30))
    report = cr.gradcheck(SquareTimesTwo, [x], raise_on_fail=False, mode="full")
    text = str(report)
    assert len(text.splitlines()) <= 8
    assert "scaled" in text and "seed=0" in text
    assert sum(f"{v:.6g}" in text for v in (4 * x).ravel()[:50]) <= 2


def test_gradcheck_error_carries_the_report_and_raise_on_fail_false_returns_it():
    with pytest.raises(cr.GradcheckError) as caught:
        cr.gradcheck(SquareTimesTwo, [rng.standard_normal(4)])
    assert isinstance(caught.value, AssertionError)
    assert isinstance(caught.value.report, cr.GradcheckReport)
    assert str(caught.value) == str(caught.value.report)
    report = cr.gradcheck(SquareTimesTwo, [rng.standard_normal(4)], raise_on_fail=False)
    assert not report.passed and "scaled" in repr(report)


def test_diagnoses_have_codes_messages_and_subjects():
    report = cr.gradcheck(MultiplySwapped, [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))],
                          raise_on_fail=False)
    assert all(isinstance(d, Diagnosis) for d in report.diagnoses)
    assert [(d.code, d.subject) for d in report.diagnoses] == [("swapped_inputs", "input 0"),
                                                                ("swapped_inputs", "input 1")]
    assert all(isinstance(g, GradientResult) for g in report.gradients)


def test_jacobian_gives_both_full_matrices():
    x, W = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    report = cr.gradcheck(MatVec, [x, W])
    jacobians = report.jacobian(0)
    assert isinstance(jacobians, Jacobians)
    expected = np.kron(np.eye(2), W)  # y[i, o] = Σ_k x[i, k]·W[o, k]
    np.testing.assert_allclose(jacobians.analytical, expected, atol=1e-12)
    np.testing.assert_allclose(jacobians.numerical, expected, atol=1e-9)
    assert report.jacobian("input 1").analytical.shape == (8, 12)


def test_relative_error_bands_follow_cs231n():
    assert [relative_error_band(r) for r in (1e-9, 1e-5, 1e-3, 0.5)] == [
        "good (<1e-7)", "ok only at kinks (<1e-4)", "suspicious (<1e-2)", "wrong (>1e-2)"]


# -- diagnosis details ----------------------------------------------------------
def test_a_factor_one_over_a_dimension_is_named():
    report = cr.gradcheck(MeanOverBatchDividedTwice, [rng.standard_normal((8, 3))], raise_on_fail=False)
    (diagnosis,) = report.diagnoses
    assert diagnosis.code == "scaled"
    assert "1/8 of" in diagnosis.message and "axis 0 of size 8" in diagnosis.message


def test_gradients_swapped_between_inputs_of_different_shapes():
    report = cr.gradcheck(MatVecReturnsSwapped, [rng.standard_normal((5, 4)), rng.standard_normal((3, 4))],
                          raise_on_fail=False)
    assert report.codes == {"swapped_inputs"}


def test_missing_broadcast_sum_names_size_one_axes_too():
    class AddKeptAxisMissingSum(AddBias):
        def backward(self, dy):
            return dy, dy

    report = cr.gradcheck(AddKeptAxisMissingSum, [rng.standard_normal((2, 4, 5)), rng.standard_normal((4, 1))],
                          raise_on_fail=False)
    (diagnosis,) = report.diagnoses
    assert diagnosis.code == "missing_broadcast_sum" and diagnosis.subject == "input 1"
    assert "axis 0 (size 2) and axis 2 (size 5), keeping axis 2 as size 1" in diagnosis.message


# -- what it accepts --------------------------------------------------------------
def test_a_function_instance_keeps_its_constructor_arguments_and_is_left_unused():
    function = cr.ops.Sum(axis=1, keepdims=True)
    report = cr.gradcheck(function, [rng.standard_normal((3, 4))])
    assert report.output_shape == (3, 1)
    assert "Sum(axis=1, keepdims=True)" in report.target
    assert not hasattr(function, "x_shape")


def test_integer_inputs_are_constants():
    logits, labels = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    report = cr.gradcheck(cr.softmax_cross_entropy, [logits, labels])
    assert [g.name for g in report.gradients] == ["input 0"]


def test_a_module_has_its_parameters_checked_and_restored():
    model = nn.Sequential(nn.Linear(4, 5, dtype=np.float64), nn.Tanh(), nn.Linear(5, 2, dtype=np.float64))
    weight = model[0].weight
    before, grad_before = weight.data.copy(), np.ones_like(weight.data)
    weight.grad = grad_before
    report = cr.gradcheck(model, [rng.standard_normal((3, 4))])
    assert [g.name for g in report.gradients] == ["input 0", "0.weight", "0.bias", "2.weight", "2.bias"]
    assert report.target.startswith("Sequential (Module")
    np.testing.assert_array_equal(weight.data, before)
    assert weight.grad is grad_before and weight.requires_grad


def test_a_broken_function_inside_a_module_is_found_on_its_parameter():
    class SwappedLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(rng.standard_normal((3, 4)))

        def forward(self, x):
            return MatVecTransposedByHand()(x, self.weight)

    class MatVecTransposedByHand(MatVec):
        def backward(self, dy):
            dx, dW = super().backward(dy)
            return dx, dW * 3

    report = cr.gradcheck(SwappedLayer(), [rng.standard_normal((5, 4))], raise_on_fail=False)
    assert [(d.code, d.subject) for d in report.diagnoses] == [("scaled", "weight")]


def test_dropout_in_training_mode_is_reseeded_before_every_forward():
    model = nn.Sequential(nn.Linear(4, 6, dtype=np.float64), nn.Dropout(0.5), nn.Linear(6, 2, dtype=np.float64))
    assert model.training
    assert cr.gradcheck(model, [rng.standard_normal((5, 4))]).passed


def test_state_kept_on_a_module_between_calls_is_a_stale_cache():
    class SquareReadingTheModule(nn.Module):
        """y = x², whose backward reads x from the module, where the next call overwrites it."""

        def forward(self, x):
            self.saved = x.data
            module = self

            class Square(cr.Function):
                def forward(self, a):
                    return a * a

                def backward(self, dy):
                    return (2 * module.saved * dy,)

            return Square()(x)

    report = cr.gradcheck(SquareReadingTheModule(), [rng.standard_normal((2, 3))], raise_on_fail=False)
    assert [(d.code, d.subject) for d in report.diagnoses] == [("stale_cache", "input 0")]


def test_params_of_a_plain_function_are_checked_by_name():
    W = cr.tensor(rng.standard_normal((3, 4)), dtype=np.float64)
    report = cr.gradcheck(lambda x: cr.linear(x, W).tanh(), [rng.standard_normal((2, 4))], params={"W": W})
    assert [g.name for g in report.gradients] == ["input 0", "W"]
    assert not W.requires_grad and W.grad is None


def test_a_function_class_takes_no_params():
    with pytest.raises(TypeError, match="params"):
        cr.gradcheck(Tanh, [rng.standard_normal(3)], params=[cr.tensor([1.0])])


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        cr.gradcheck(Tanh, [rng.standard_normal(3)], mode="quick")


# -- dtypes and tolerances ----------------------------------------------------------
def test_float32_inputs_are_checked_in_float32_against_a_float64_reference():
    x = rng.standard_normal((3, 4)).astype(np.float32)
    report = cr.gradcheck(Tanh, [x])
    gradient = report.gradients[0]
    assert gradient.dtype == np.float32 and report.output_dtype == np.float32
    assert gradient.rtol == 1e-2
    assert cr.gradcheck(SquareTimesTwo, [x], raise_on_fail=False).codes == {"scaled"}


def test_explicit_tolerances_are_used_as_given():
    report = cr.gradcheck(Tanh, [rng.standard_normal(4)], rtol=1e-3, atol=1e-5)
    assert (report.gradients[0].rtol, report.gradients[0].atol) == (1e-3, 1e-5)


def test_a_mismatch_within_the_numerical_noise_is_inconclusive_not_a_failure():
    report = cr.gradcheck(SquareInFloat32, [rng.standard_normal((3, 4))])
    assert report.passed
    assert report.gradients[0].status == "inconclusive"
    assert [(d.code, d.fatal) for d in report.diagnoses] == [("numerical_noise", False)]


# -- fast mode ------------------------------------------------------------------
def test_large_inputs_get_the_fast_check():
    report = cr.gradcheck(Tanh, [rng.standard_normal((50, 50))])
    gradient = report.gradients[0]
    assert gradient.method == "fast"
    assert np.count_nonzero(~np.isnan(gradient.numerical)) == 32


def test_a_failing_fast_check_escalates_to_the_full_check():
    report = cr.gradcheck(SquareTimesTwo, [rng.standard_normal((50, 50))], raise_on_fail=False)
    gradient = report.gradients[0]
    assert gradient.method == "fast→full"
    assert not np.isnan(gradient.numerical).any()
    assert report.codes == {"scaled"}


def test_mode_full_checks_every_element_of_a_large_input():
    report = cr.gradcheck(Tanh, [rng.standard_normal((50, 50))], mode="full")
    assert report.gradients[0].method == "full"


# -- kinks --------------------------------------------------------------------------
def test_a_wrong_value_exactly_at_a_kink_is_moved_away_by_default_or_caught_when_kept():
    x = np.array([[0.0, 1.3, -0.7], [0.4, 0.0, -1.1]])
    moved = cr.gradcheck(ReluWrongAtZero, [x])
    assert [(d.code, d.fatal) for d in moved.diagnoses] == [("kink", False)]
    assert "moved 2 element(s)" in moved.diagnoses[0].message
    kept = cr.gradcheck(ReluWrongAtZero, [x], move_kinks=False, raise_on_fail=False)
    assert not kept.passed
    assert {e.index for e in kept.worst(2)} == {(0, 0), (1, 1)}


def test_a_value_between_the_one_sided_slopes_is_accepted_as_a_subgradient():
    report = cr.gradcheck(Relu, [np.array([0.0, 2.0, -1.0])], move_kinks=False)
    (note,) = report.diagnoses
    assert (note.code, note.fatal) == ("kink", False) and "subgradient" in note.message
    assert report.gradients[0].verdicts == {0: "subgradient"}


# -- the caller's state ---------------------------------------------------------------
def test_inputs_and_random_state_are_left_as_they_were():
    x = rng.standard_normal((3, 5))
    original = x.copy()
    np.random.seed(123)
    numpy_state = np.random.get_state()[1].copy()
    cr.manual_seed(5)
    expected_next = cr.randn(3).numpy()
    cr.manual_seed(5)

    def noisy(t):  # uses both global generators: re-seeded before every forward pass
        return t * cr.rand(*t.shape, dtype=np.float64) + np.random.rand(*t.shape)

    cr.gradcheck(noisy, [x])
    cr.gradcheck(SquareTimesTwo, [x], raise_on_fail=False)
    np.testing.assert_array_equal(x, original)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    np.testing.assert_array_equal(cr.randn(3).numpy(), expected_next)
