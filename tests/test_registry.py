"""The registry walk: every registered op has verification cases, and every case
names a registered op."""
from chainrule.ops import REGISTRY
from op_cases import CASES


def test_every_registered_op_has_a_case():
    verified = {c.op for c in CASES}
    missing = sorted(set(REGISTRY) - verified)
    assert not missing, f"registered ops with no verification case: {missing}"


def test_every_case_names_a_registered_op():
    unknown = sorted({c.op for c in CASES} - set(REGISTRY))
    assert not unknown, f"cases for ops that are not registered: {unknown}"


def test_every_case_has_a_torch_reference_or_a_reason():
    no_torch = sorted({c.op for c in CASES} - {c.op for c in CASES if c.torch_fn is not None})
    assert no_torch == ["cast"], f"ops checked only by finite differences: {no_torch}"


def test_every_case_sits_in_the_case_file_of_its_ops_module():
    """tests/cases/ mirrors src/chainrule/ops/: adding an op touches its module and one case file."""
    misplaced = sorted({(c.op, c.source) for c in CASES
                        if c.source != "cases." + REGISTRY[c.op].__module__.rsplit(".", 1)[1]})
    assert not misplaced, f"cases outside tests/cases/<the op's module>.py: {misplaced}"


def test_every_registered_op_can_be_differentiated_twice():
    """Second order (create_graph=True) reaches every op: each has a backward_graph, and its cases
    (all of which tests/test_second_order.py runs at second order) exist by the test above."""
    once_only = sorted(name for name, cls in REGISTRY.items() if cls.backward_graph is None)
    assert not once_only, f"registered ops with no backward_graph (second order): {once_only}"


def test_every_op_has_a_second_order_torch_reference_or_a_reason():
    checked = {c.op for c in CASES if c.torch_fn is not None and c.torch_second_order}
    assert sorted(set(REGISTRY) - checked) == ["cast"], f"ops checked at second order only by finite differences: {sorted(set(REGISTRY) - checked)}"


def test_every_op_has_a_finite_difference_case():
    """A case may leave finite differences out where its gradient is a convention (embedding's padding
    row); every op still has cases where the derivative itself is checked."""
    unchecked = sorted(set(REGISTRY) - {c.op for c in CASES if c.finite_differences})
    assert not unchecked, f"ops never checked against finite differences: {unchecked}"
