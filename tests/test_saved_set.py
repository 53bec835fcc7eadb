"""The explicit saved set: what an op's backward reads is what it gave save_for_backward.

Oracle: the gradient of every verification case computed normally. The same case is run
again with every array that forward put among the node's attributes removed before
backward; the gradients must not change, so backward reads no array outside the saved
slot (which is what cr.trace counts and what release() frees).
"""
import numpy as np
import pytest

from chainrule import backend
from chainrule.tensor import Function, topological_order
from op_cases import CASES
from oracle import make_inputs, upstream_gradient


def _gradients(case, strip: bool):
    tensors = make_inputs(case)
    if strip:
        before = {}
        original = Function.__call__

        def recording_call(self, *inputs):
            before[id(self)] = dict(vars(self))
            return original(self, *inputs)

        Function.__call__ = recording_call
        try:
            out = case.fn(*tensors)
        finally:
            Function.__call__ = original
    else:
        out = case.fn(*tensors)
    if out.creator is None:
        return None
    if strip:
        for node in topological_order(out.creator):
            settings = before.get(id(node), {})
            for name, value in list(vars(node).items()):
                if isinstance(value, backend.array_types) and settings.get(name) is not value:
                    setattr(node, name, None)
    out.backward(upstream_gradient(out.shape))
    return [t.grad for t in tensors if t.requires_grad]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_backward_reads_only_the_saved_set(case):
    want = _gradients(case, strip=False)
    got = _gradients(case, strip=True)
    if want is None:
        return
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
