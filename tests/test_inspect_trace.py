"""cr.trace: every expected number is computed by hand from shapes and dtypes (bytes),
from the model's structure (op counts, order, shapes), or from the ops' documented
saving rules (ops.Linear keeps x and W, x only when W needs a gradient; ReLU keeps y)."""
import inspect
import json
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.inspect import trace_one_step

N, D_IN, HIDDEN, CLASSES = 32, 20, 16, 4
F32 = np.dtype(np.float32).itemsize
F64 = np.dtype(np.float64).itemsize
I64 = np.dtype(np.int64).itemsize


def data(dtype=np.float32, requires_grad=False):
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((N, D_IN)).astype(dtype), requires_grad=requires_grad)
    y = cr.tensor(rng.integers(0, CLASSES, N))
    return x, y


def mlp():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(D_IN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))


@pytest.mark.parametrize("dtype, itemsize", [(np.float32, F32), (np.float64, F64)])
@pytest.mark.parametrize("x_requires_grad", [False, True])
def test_linear_saves_its_input_and_weight(dtype, itemsize, x_requires_grad):
    layer = nn.Linear(D_IN, HIDDEN, dtype=dtype)
    x, _ = data(dtype, x_requires_grad)
    with cr.trace() as t:
        layer(x).sum().backward()
    linear = t.ops[0]
    assert linear.op == "Linear"
    expected = N * D_IN * itemsize + HIDDEN * D_IN * itemsize  # x and W; b is not needed
    assert linear.saved_bytes == expected
    assert sorted(linear.saved_names) == ["W", "x"]
    assert linear.saved_shared_with_inputs == expected  # both are the op's own inputs
    assert linear.saved_shared_with_output == 0


def test_linear_keeps_only_the_weight_when_the_weight_needs_no_gradient():
    W = cr.tensor(np.ones((HIDDEN, D_IN), np.float32))
    x, _ = data(requires_grad=True)
    with cr.trace() as t:
        cr.linear(x, W).sum().backward()
    assert t.ops[0].saved_names == ["W"]
    assert t.ops[0].saved_bytes == HIDDEN * D_IN * F32


def test_relu_keeps_its_output():
    x, _ = data(requires_grad=True)
    with cr.trace() as t:
        x.relu().sum().backward()
    relu = t.ops[0]
    assert relu.saved_bytes == N * D_IN * F32
    assert relu.saved_shared_with_output == N * D_IN * F32
    assert relu.saved_shared_with_inputs == 0


def test_views_of_one_buffer_count_once():
    class KeepsTwoViews(cr.Function):
        """y = x; keeps x and x.T (one buffer). x: S → y: S."""

        def forward(self, x):
            self.a, self.b = x, x.T
            return x.copy()

        def backward(self, dy):
            # y = x  ⇒  dx = dy
            return (dy,)

    x, _ = data(requires_grad=True)
    with cr.trace() as t:
        KeepsTwoViews()(x)
    assert t.ops[0].saved_bytes == N * D_IN * F32


def test_a_slice_counts_its_own_bytes_not_its_whole_base():
    all_labels = np.zeros(100 * N, np.int64)  # e.g. a dataset's labels, batched by slicing
    logits = cr.tensor(np.zeros((N, CLASSES), np.float32), requires_grad=True)
    with cr.trace() as t:
        cr.softmax_cross_entropy(logits, cr.Tensor(all_labels[:N]))
    assert sorted(t.ops[0].saved_names) == ["labels", "p"]
    assert t.ops[0].saved_bytes == N * CLASSES * F32 + N * I64


def test_an_mlp_step_has_one_row_per_op_with_the_models_shapes():
    model, (x, y) = mlp(), data()
    with cr.trace() as t:
        loss = nn.CrossEntropyLoss()(model(x), y)
        loss.backward()
    assert [r.op for r in t] == ["Linear", "ReLU", "Linear", "SoftmaxCrossEntropy"]
    assert [r.input_shapes for r in t] == [
        [(N, D_IN), (HIDDEN, D_IN), (HIDDEN,)], [(N, HIDDEN)], [(N, HIDDEN), (CLASSES, HIDDEN), (CLASSES,)],
        [(N, CLASSES), (N,)],
    ]
    assert [r.output_shape for r in t] == [(N, HIDDEN), (N, HIDDEN), (N, CLASSES), ()]
    assert all(r.dtype == "float32" and r.recorded for r in t)
    assert [r.backward_order for r in t] == [4, 3, 2, 1]
    assert t.ops[0].grad_shapes == [None, (HIDDEN, D_IN), (HIDDEN,)]  # x takes no gradient
    assert t.ops[3].grad_shapes == [(N, CLASSES), None]
    assert all(r.forward_seconds > 0 and r.backward_seconds > 0 for r in t)
    assert t.forward_seconds > 0 and t.backward_seconds > 0


def mlp_peak_bytes() -> tuple[int, int]:
    """Buffers held when the forward pass ends: x, W1, the ReLU output (which the second
    Linear keeps too: one buffer), W2, the softmax p and the labels. x, W1, W2 and the
    labels are leaves."""
    x, w1, h, w2, p, labels = N * D_IN * F32, HIDDEN * D_IN * F32, N * HIDDEN * F32, \
        CLASSES * HIDDEN * F32, N * CLASSES * F32, N * I64
    return x + w1 + h + w2 + p + labels, x + w1 + w2 + labels


def test_peak_bytes_count_each_buffer_once_and_free_after_backward():
    model, (x, y) = mlp(), data()
    loss_fn = nn.CrossEntropyLoss()
    with cr.trace() as t:
        for _ in range(2):  # if backward freed nothing, the second pass would double the peak
            loss_fn(model(x), y).backward()
    assert (t.peak_bytes, t.peak_leaf_bytes) == mlp_peak_bytes()
    assert t.totals()["saved_bytes"] == 2 * (mlp_peak_bytes()[0] + N * HIDDEN * F32)  # per op, h twice


def test_peak_bytes_hold_retained_graphs_and_free_unused_ones():
    model, (x, y) = mlp(), data()
    loss_fn = nn.CrossEntropyLoss()
    total, leaves = mlp_peak_bytes()
    own = total - leaves
    with cr.trace() as t:
        loss_fn(model(x), y)  # never backpropagated: freed as soon as it is dropped
        kept = loss_fn(model(x), y)
        kept.backward(retain_graph=True)
        loss_fn(model(x), y).backward()
    assert t.peak_bytes == total + own  # the retained graph's own buffers stay; leaves are shared


def test_no_grad_ops_are_listed_but_save_nothing():
    model, (x, _) = mlp(), data()
    with cr.trace() as t, cr.no_grad():
        model(x)
    assert len(t) == 3 and not any(r.recorded for r in t)
    assert t.peak_bytes == 0 and all(r.saved_bytes == 0 and r.backward_seconds is None for r in t)


def test_source_is_the_callers_line():
    model, (x, y) = mlp(), data()
    with cr.trace() as t:
        line = inspect.currentframe().f_lineno + 1
        nn.CrossEntropyLoss()(model(x), y).backward()
    for record in t:
        assert os.path.samefile(record.source.file, __file__)
        assert record.source.line == line
        assert record.source.text == "nn.CrossEntropyLoss()(model(x), y).backward()"


def test_table_and_json_carry_the_same_records():
    model, (x, y) = mlp(), data()
    with cr.trace() as t:
        nn.CrossEntropyLoss()(model(x), y).backward()
    lines = str(t).splitlines()
    assert len(lines) == 2 + len(t) + 2  # header, rule, a row per op, two lines of totals
    for row, record in zip(lines[2:], t):
        assert row.split()[:2] == [str(record.index), record.op]
    assert "peak held at once" in lines[-1]
    decoded = json.loads(t.to_json())
    assert [op["op"] for op in decoded["ops"]] == [r.op for r in t]
    assert decoded["ops"][0]["input_shapes"] == [[N, D_IN], [HIDDEN, D_IN], [HIDDEN]]
    assert decoded["ops"][0]["source"]["line"] == t.ops[0].source.line
    assert decoded["totals"]["peak_bytes"] == mlp_peak_bytes()[0]
    assert decoded["totals"]["ops"] == 4 and decoded["totals"]["backward_ops"] == 4


def test_trace_one_step_traces_forward_and_backward_of_a_model():
    model, (x, y) = mlp(), data()
    t = trace_one_step(model, nn.CrossEntropyLoss(), x, y)
    assert [r.op for r in t] == ["Linear", "ReLU", "Linear", "SoftmaxCrossEntropy"]
    assert all(r.backward_order is not None for r in t)
    assert all(p.grad is not None for p in model.parameters())
