"""nn.MultiheadAttention against torch's with its state_dict: outputs, attention weights and every
gradient, with PyTorch's masks (boolean True = not allowed, float added, key padding), both layouts."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("options", [
    dict(), dict(batch_first=True), dict(need_weights=False), dict(average_attn_weights=False),
    dict(masks="bool"), dict(masks="float", need_weights=False), dict(masks="padding", batch_first=True),
    dict(is_causal=True, need_weights=False),
], ids=str)
def test_multihead_attention_matches_torch(options):
    options = dict(options)
    batch_first = options.pop("batch_first", False)
    masks = options.pop("masks", None)
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(5)
    n, length, source = 2, 3, 4
    q = rng.standard_normal((n, length, 8) if batch_first else (length, n, 8))
    kv = rng.standard_normal((n, source, 8) if batch_first else (source, n, 8))
    kwargs = {}
    if masks == "bool":
        kwargs["attn_mask"] = np.array([[False, True, False, False], [False, False, True, True], [True, False, False, False]])
    elif masks == "float":
        kwargs["attn_mask"] = rng.standard_normal((length, source))
    elif masks == "padding":
        kwargs["key_padding_mask"] = np.array([[False, False, True, False], [False, True, True, False]])
    if options.get("is_causal"):
        kwargs["attn_mask"] = np.triu(np.ones((length, source), dtype=bool), 1)
    ours_inputs = [cr.tensor(a, requires_grad=True) for a in (q, kv, kv.copy())]
    torch_inputs = [torch.tensor(a, requires_grad=True) for a in (q, kv, kv.copy())]
    out, weights = ours(*ours_inputs, **{k: v for k, v in kwargs.items()}, **options)
    tout, tweights = theirs(*torch_inputs, **{k: torch.tensor(v) for k, v in kwargs.items()}, **options)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-9, atol=1e-11)
    assert (weights is None) == (tweights is None)
    if weights is not None:
        np.testing.assert_allclose(weights.numpy(), tweights.detach().numpy(), rtol=1e-9, atol=1e-11)
    upstream = rng.standard_normal(tout.shape)
    (out * upstream).sum().backward()
    (tout * torch.tensor(upstream)).sum().backward()
    for a, b in zip(ours_inputs, torch_inputs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-9, atol=1e-11)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


@pytest.mark.parametrize("options", [
    dict(), dict(norm_first=True, activation="gelu"), dict(batch_first=True, masks=True),
], ids=str)
def test_transformer_encoder_matches_torch(options):
    options = dict(options)
    masks = options.pop("masks", False)
    torch.manual_seed(0)
    layer_options = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, **options)
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(**layer_options), 2,
                                         norm=torch.nn.LayerNorm(8), enable_nested_tensor=False).double()
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer_options, dtype=np.float64), 2,
                                 norm=nn.LayerNorm(8, dtype=np.float64))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(6)
    data = rng.standard_normal((2, 5, 8) if options.get("batch_first") else (5, 2, 8))
    kwargs = {}
    if masks:
        kwargs = dict(mask=np.triu(np.ones((5, 5), dtype=bool), 1),
                      src_key_padding_mask=np.array([[False] * 5, [False, False, False, True, True]]))
    x, xt = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out = ours(x, **kwargs)
    tout = theirs(xt, **{k: torch.tensor(v) for k, v in kwargs.items()})
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-9, atol=1e-11)
    upstream = rng.standard_normal(tout.shape)
    (out * upstream).sum().backward()
    (tout * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)
