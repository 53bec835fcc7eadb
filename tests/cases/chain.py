"""Verification cases for the ops of ``chainrule/ops/chain.py``."""
import numpy as np

import chainrule as cr
from oracle import case, randn, torch

_labels = np.array([0, 2, 1, 2, 3])

# -- chain: ops composed as one node, checked like any op ---------------------------
case("chain",
     lambda x, W1, b1, W2: cr.ops.Chain([(cr.ops.Linear(), 2), (cr.ops.Tanh(), 0), (cr.ops.Linear(), 1)])(x, W1, b1, W2),
     lambda x, W1, b1, W2: torch().nn.functional.linear(torch().tanh(torch().nn.functional.linear(x, W1, b1)), W2),
     randn(5, 4), randn(3, 4), randn(3), randn(2, 3))
case("chain",
     lambda z, y: cr.ops.Chain([(cr.ops.Sigmoid(), 0), (cr.ops.SoftmaxCrossEntropy(), 1)])(z, y),
     lambda z, y: torch().nn.functional.cross_entropy(torch().sigmoid(z), y),
     randn(5, 4), _labels, id="chain(sigmoid, cross-entropy)")
case("chain",
     lambda x, W: cr.ops.Chain([(cr.ops.Linear(), 1), (cr.ops.Linear(), 1)])(x, W, W),
     lambda x, W: torch().nn.functional.linear(torch().nn.functional.linear(x, W), W),
     randn(5, 4), randn(4, 4), id="chain(one weight twice)")
