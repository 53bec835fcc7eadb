"""Verification cases for the ops of ``chainrule/ops/attention.py``: scaled dot-product attention
against finite differences and torch's ``F.scaled_dot_product_attention``."""
import numpy as np

import chainrule as cr
from oracle import case, randn, torch_functional

_mask = np.array([[True, False, True, True], [False, False, False, False], [True, True, False, True]])
for tag, shapes, kwargs in [
    ("plain", ((2, 3, 4), (2, 5, 4), (2, 5, 3)), {}),
    ("heads", ((2, 2, 3, 4), (2, 2, 4, 4), (2, 2, 4, 2)), dict(scale=0.3)),
    ("causal", ((1, 4, 3), (1, 4, 3), (1, 4, 2)), dict(is_causal=True)),
    ("bool mask, a row masked whole", ((2, 3, 2), (2, 4, 2), (2, 4, 3)), dict(attn_mask=_mask)),
    ("length 1", ((3, 1, 2), (3, 1, 2), (3, 1, 2)), {}),
]:
    def ours(q, k, v, kw=kwargs):
        return cr.scaled_dot_product_attention(q, k, v, **kw)

    def theirs(q, k, v, kw=kwargs):
        kw = dict(kw, attn_mask=__import__("torch").tensor(kw["attn_mask"])) if "attn_mask" in kw else kw
        return torch_functional().scaled_dot_product_attention(q, k, v, **kw)

    case("scaled_dot_product_attention", ours, theirs, *(randn(*shape) for shape in shapes), id=f"attention({tag})")
case("scaled_dot_product_attention", lambda q, k, v, m: cr.scaled_dot_product_attention(q, k, v, attn_mask=m),
     lambda q, k, v, m: torch_functional().scaled_dot_product_attention(q, k, v, attn_mask=m),
     randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 2), randn(3, 5), id="attention(float mask, its gradient too)")
case("scaled_dot_product_attention",
     lambda q, k, v: cr.scaled_dot_product_attention(q, k, v, dropout_p=0.3, generator=np.random.default_rng(0)), None,
     randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 2), id="attention(dropout, one mask)")
case("scaled_dot_product_attention", lambda x: cr.scaled_dot_product_attention(x, x, x, is_causal=True),
     lambda x: torch_functional().scaled_dot_product_attention(x, x, x, is_causal=True), randn(2, 4, 3),
     id="attention(self, q = k = v)")
