"""cr.explain: the backward pass of a known network, op by op in reverse order, with
the shapes its structure dictates; and a formula for every registered op."""
import inspect
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, ops
from chainrule.inspect import explain_steps
from chainrule.inspect.formula import formula_of, split_clauses

N, D_IN, HIDDEN, CLASSES = 8, 12, 16, 4


def mlp_loss():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(D_IN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))
    x = cr.tensor(np.ones((N, D_IN), np.float32))
    y = cr.tensor(np.zeros(N, np.int64))
    return nn.CrossEntropyLoss()(model(x), y)


def _nodes_by_op() -> dict:
    """One recorded node of every registered op, from its verification cases."""
    from op_cases import CASES
    from oracle import make_inputs
    from chainrule.tensor import topological_order

    nodes = {}
    for case in CASES:
        if case.op in nodes:
            continue
        out = case.fn(*make_inputs(case))
        if out.creator is not None:
            nodes.update((node.op_name, node) for node in topological_order(out.creator) if node.op_name not in nodes)
    return nodes


def test_every_registered_op_states_its_derivation_once_naming_its_inputs():
    nodes = _nodes_by_op()
    assert set(nodes) == set(ops.REGISTRY)
    for name, node in nodes.items():
        text = node.formula
        forward, arrow, gradients = text.partition("⇒")
        assert arrow and forward.strip() and gradients.strip(), f"op {name}: {text!r} is not 'forward ⇒ gradients'"
        parameters = list(inspect.signature(type(node).forward).parameters.values())[1:]
        variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)
        named = {p.name for p in parameters if p.kind is not inspect.Parameter.VAR_POSITIONAL}
        clauses = split_clauses(formula_of(node))
        assert clauses and all(expression for _, expression in clauses), f"{name}: {text!r}"
        if not variadic:
            assert {lhs for lhs, _ in clauses} <= named, f"{name}: {text!r} names inputs {named} lacks"


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_the_cross_entropy_formula_is_the_one_backward_applies(reduction, smoothing):
    """The text explain prints, read as arithmetic, gives the gradient backward returns."""
    rng = np.random.default_rng(3)
    n, c = 5, 4
    logits = cr.Tensor(rng.standard_normal((n, c)), requires_grad=True)
    labels = rng.integers(0, c, n)
    loss = cr.softmax_cross_entropy(logits, labels, reduction=reduction, label_smoothing=smoothing)
    (step,) = explain_steps(loss)
    (clause,) = step.clauses
    scale = {"mean": "dy / N", "sum": "dy", "none": "dyᵢ"}[reduction]
    if smoothing:
        assert clause.text == f"dlogits = (softmax(logits) − q)·{scale}"
        assert "q = 0.75·onehot(labels) + 0.25/C" in step_formula(loss)
    else:
        assert clause.text == f"dlogits = (softmax(logits) − onehot(labels))·{scale}"
    dy = rng.standard_normal(loss.shape)
    loss.backward(dy)
    z = logits.data - logits.data.max(axis=1, keepdims=True)
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    q = (1 - smoothing) * np.eye(c)[labels] + smoothing / c
    per_row = dy[:, None] if reduction == "none" else dy / n if reduction == "mean" else dy
    np.testing.assert_allclose(logits.grad, (softmax - q) * per_row, rtol=1e-12)


def step_formula(loss) -> str:
    return loss.creator.formula


def test_small_mlp_in_reverse_order_with_shapes():
    steps = explain_steps(mlp_loss())
    assert [s.label for s in steps] == ["SoftmaxCrossEntropy#1", "Linear#2", "ReLU#1", "Linear#1"]
    assert [s.order for s in steps] == [1, 2, 3, 4]
    assert [s.output_shape for s in steps] == [(), (N, CLASSES), (N, HIDDEN), (N, HIDDEN)]
    ce, second, relu, first = steps
    assert [(c.text, c.result) for c in ce.clauses] == [
        ("dlogits = (softmax(logits) − onehot(labels))·dy / N", (N, CLASSES))]
    assert [(c.text, c.shapes, c.result) for c in second.clauses] == [
        ("dx = dy·W", f"({N}×{CLASSES})·({CLASSES}×{HIDDEN})", (N, HIDDEN)),
        ("dW = dyᵀ·x", f"({CLASSES}×{N})·({N}×{HIDDEN})", (CLASSES, HIDDEN)),
        ("db = Σ_batch dy", f"Σ_batch ({N}×{CLASSES})", (CLASSES,)),
    ]
    assert [c.result for c in relu.clauses] == [(N, HIDDEN)]
    # The input x takes no gradient, so the first layer's backward computes no dx.
    assert [c.text.split(" =")[0] for c in first.clauses] == ["dW", "db"]
    assert [c.result for c in first.clauses] == [(HIDDEN, D_IN), (HIDDEN,)]


def test_explain_prints_one_line_per_gradient(capsys):
    cr.explain(mlp_loss())
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert sum("→" in line for line in lines[4:]) == 1 + 3 + 1 + 2
    assert re.search(rf"dW = dyᵀ·x\s+\({CLASSES}×{N}\)·\({N}×{HIDDEN}\)\s+→ \({CLASSES}×{HIDDEN}\)", out)


def test_variadic_inputs_are_named_by_the_formula():
    a = cr.tensor(np.ones((2, 3)), requires_grad=True)
    b = cr.tensor(np.ones((5, 3)), requires_grad=True)
    (concat, _sum) = explain_steps(cr.concatenate([a, b], axis=0).sum())[::-1]
    assert [(c.text, c.result) for c in concat.clauses] == [
        ("dx₁ = the slice of dy where x₁ sits", (2, 3)), ("dx₂ = the slice of dy where x₂ sits", (5, 3))]
    norm = nn.BatchNorm1d(3, dtype=np.float64)
    (step, _) = explain_steps(norm(a).sum())[::-1]
    assert [(c.text.split(" =")[0], c.result) for c in step.clauses] == [("dx", (2, 3)), ("dγ", (3,)), ("dβ", (3,))]


def test_a_function_without_formula_still_shows_its_gradients(capsys):
    class Double(cr.Function):
        def forward(self, x):
            return 2 * x

        def backward(self, dy):
            # y = 2x  ⇒  dx = 2dy
            return (2 * dy,)

    x = cr.tensor(np.ones(3), requires_grad=True)
    (step,) = explain_steps(Double()(x))
    assert step.clauses is None and step.gradient_shapes == [(3,)]
    cr.explain(Double()(x))
    assert "no formula" in capsys.readouterr().out


def test_explain_needs_the_graph():
    loss = mlp_loss()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        cr.explain(loss)
    assert explain_steps(cr.tensor(1.0)) == []


def test_embedding_gradient_goes_to_the_weight():
    weight = cr.tensor(np.ones((10, 3)), requires_grad=True)
    (step,) = explain_steps(cr.embedding(cr.tensor(np.array([1, 2, 1])), weight))
    assert [(c.text.split(" =")[0], c.result) for c in step.clauses] == [("dweight", (10, 3))]
