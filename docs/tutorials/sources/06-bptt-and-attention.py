# %% [markdown]
# # 6. Backprop through time, and the backward pass of attention
#
# Two derivations people look for most: the gradient of an LSTM through time (CS231n's assignment 3,
# Karpathy's min-char-rnn) and the gradient of attention ("what is the gradient of softmax(QKᵀ)V?").
# We derive each on paper, write it in a dozen lines of NumPy, and check it three ways: against
# chainrule's own op (`cr.lstm`, `F.scaled_dot_product_attention`, each one hand-derived Function),
# against PyTorch's autograd, and against finite differences. Everything is float64.

# %%
import numpy as np
import torch

import chainrule as cr
from chainrule.nn import functional as F

rng = np.random.default_rng(0)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# %% [markdown]
# ## An LSTM, step by step
#
# At each step t, with PyTorch's gate order (i, f, g, o) and z split in four blocks of H:
#
# $$z = x_t W_{ih}^\top + h_{t-1} W_{hh}^\top + b, \quad i = \sigma(z_i),\ f = \sigma(z_f),\ g = \tanh(z_g),\ o = \sigma(z_o)$$
# $$c_t = f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh(c_t)$$
#
# The forward pass keeps what the backward pass will need: the inputs, every h and c, and the gates.

# %%
T, N, D, H = 4, 2, 3, 5
x = rng.standard_normal((T, N, D))
h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
W_ih, W_hh = 0.5 * rng.standard_normal((4 * H, D)), 0.5 * rng.standard_normal((4 * H, H))
b = 0.1 * rng.standard_normal(4 * H)


def lstm_forward(x, h0, c0, W_ih, W_hh, b):
    h, c, gates = [h0], [c0], []
    for t in range(len(x)):
        z = x[t] @ W_ih.T + h[-1] @ W_hh.T + b
        i, f, g, o = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), sigmoid(z[:, 3 * H:])
        c.append(f * c[-1] + i * g)
        h.append(o * np.tanh(c[-1]))
        gates.append((i, f, g, o))
    return h, c, gates


h, c, gates = lstm_forward(x, h0, c0, W_ih, W_hh, b)
print("h_T =", np.round(h[-1], 4))

# %% [markdown]
# ## Backward through time
#
# Let the loss be L = Σₜ ⟨G_t, h_t⟩ for fixed random G (any scalar works; this one makes dL/dh_t = G_t
# at every step). Going back from t = T, two gradients arrive at each step: dh (from the loss at this
# step, plus what step t+1 sent back through W_hh) and dc (what step t+1 sent back through f).
# The chain rule through the two equations above gives, gate by gate:
#
# - h_t = o·tanh(c_t): **do = dh·tanh(c_t)**, and c_t receives **dc += dh·o·(1 − tanh²(c_t))**
# - c_t = f·c_{t−1} + i·g: **di = dc·g, dg = dc·i, df = dc·c_{t−1}**, and **dc_{t−1} = dc·f**
# - through the nonlinearities, σ' = σ(1 − σ) and tanh' = 1 − tanh²:
#   **dz = [di·i(1−i) | df·f(1−f) | dg·(1−g²) | do·o(1−o)]**
# - z = x_t W_ihᵀ + h_{t−1} W_hhᵀ + b: **dx_t = dz·W_ih**, **dh_{t−1} += dz·W_hh**, and the weights
#   collect **dW_ih += dzᵀ·x_t, dW_hh += dzᵀ·h_{t−1}, db += Σ dz** over the steps.

# %%
G = rng.standard_normal((T, N, H))


def lstm_backward(G, x, h, c, gates, W_ih, W_hh):
    dx = np.zeros_like(x)
    dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros(4 * H)
    dh_next, dc = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(len(x))):
        i, f, g, o = gates[t]
        dh = G[t] + dh_next
        tanh_c = np.tanh(c[t + 1])
        do = dh * tanh_c
        dc = dc + dh * o * (1 - tanh_c ** 2)
        di, dg, df = dc * g, dc * i, dc * c[t]
        dz = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], axis=1)
        dx[t] = dz @ W_ih
        dW_ih += dz.T @ x[t]
        dW_hh += dz.T @ h[t]
        db += dz.sum(axis=0)
        dh_next = dz @ W_hh
        dc = dc * f
    return dx, dh_next, dc, dW_ih, dW_hh, db


by_hand = lstm_backward(G, x, h, c, gates, W_ih, W_hh)
names = ["x", "h0", "c0", "W_ih", "W_hh", "b"]
print({name: grad.shape for name, grad in zip(names, by_hand)})

# %% [markdown]
# ### Check 1: chainrule's `lstm` op
#
# `cr.lstm` is the same recurrence as one registered Function (its `backward` is this derivation,
# written for speed); it returns h_1 … h_T and then c_T, so the loss weights its first T rows by G.
# The bias appears twice (b_ih and b_hh, as in PyTorch): each gets db.

# %%
inputs = [cr.tensor(a, requires_grad=True) for a in (x, h0, c0, W_ih, W_hh, b, np.zeros(4 * H))]
out = cr.lstm(*inputs)
(out[:T] * cr.tensor(G)).sum().backward()
for name, mine, op in zip(names, by_hand, [t.grad for t in inputs]):
    print(f"{name:5s} max |by hand − cr.lstm| = {np.abs(mine - op).max():.1e}")
    assert np.allclose(mine, op, rtol=1e-12, atol=1e-13)
assert np.allclose(inputs[6].grad, by_hand[5], rtol=1e-12, atol=1e-13)

# %% [markdown]
# ### Check 2: PyTorch's autograd through `torch.nn.LSTM`

# %%
lstm = torch.nn.LSTM(D, H).double()
with torch.no_grad():
    lstm.weight_ih_l0.copy_(torch.tensor(W_ih))
    lstm.weight_hh_l0.copy_(torch.tensor(W_hh))
    lstm.bias_ih_l0.copy_(torch.tensor(b))
    lstm.bias_hh_l0.zero_()
tx, th0, tc0 = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
outputs, _ = lstm(tx, (th0[None], tc0[None]))
(outputs * torch.tensor(G)).sum().backward()
theirs = [tx.grad, th0.grad, tc0.grad, lstm.weight_ih_l0.grad, lstm.weight_hh_l0.grad, lstm.bias_ih_l0.grad]
for name, mine, t in zip(names, by_hand, theirs):
    print(f"{name:5s} max |by hand − torch| = {np.abs(mine - t.numpy()).max():.1e}")
    assert np.allclose(mine, t.numpy(), rtol=1e-12, atol=1e-13)

# %% [markdown]
# ### Check 3: finite differences
#
# The central difference (L(w + ε) − L(w − ε)) / 2ε for every entry of W_hh, the weight that carries
# the gradient through time: its error is O(ε²), so at ε = 10⁻⁶ we expect agreement to about 10⁻⁹.

# %%
def loss(W):
    return sum((G[t] * h_t).sum() for t, h_t in enumerate(lstm_forward(x, h0, c0, W_ih, W, b)[0][1:]))


def central_differences(f, w, eps=1e-6):
    """(f(w + ε·e_i) − f(w − ε·e_i)) / 2ε for every entry i of w."""
    numeric = np.zeros_like(w)
    for index in np.ndindex(w.shape):
        step = np.zeros_like(w)
        step[index] = eps
        numeric[index] = (f(w + step) - f(w - step)) / (2 * eps)
    return numeric


numeric = central_differences(loss, W_hh)
print(f"W_hh: max |by hand − finite differences| = {np.abs(numeric - by_hand[4]).max():.1e}")
assert np.allclose(numeric, by_hand[4], rtol=1e-7, atol=1e-8)

# %% [markdown]
# ## The backward pass of attention
#
# Scaled dot-product attention, for one head, with s = 1/√d:
#
# $$S = s\,QK^\top, \qquad P = \mathrm{softmax}_\text{rows}(S), \qquad O = PV$$
#
# Given dO = ∂L/∂O, each line backwards:
#
# - O = PV is a matrix product: **dV = Pᵀ·dO** and **dP = dO·Vᵀ**.
# - P = softmax(S) row by row. For one row, ∂pⱼ/∂sₖ = pⱼ(δⱼₖ − pₖ), so
#   dsₖ = Σⱼ dpⱼ·pⱼ(δⱼₖ − pₖ) = pₖ(dpₖ − Σⱼ dpⱼpⱼ): **dS = P ∘ (dP − rowsum(dP ∘ P))**.
#   The L×L Jacobian of each row never has to be formed.
# - S = s·QKᵀ: **dQ = s·dS·K** and **dK = s·dSᵀ·Q**.
#
# A mask sets scores to −∞ before the softmax: those P entries are 0, so the same dS formula gives
# them zero gradient; nothing else changes.

# %%
L, S_len, d = 4, 5, 3
Q, K, V = rng.standard_normal((L, d)), rng.standard_normal((S_len, d)), rng.standard_normal((S_len, d))
dO = rng.standard_normal((L, d))
mask = np.tril(np.ones((L, S_len), dtype=bool), k=1)  # True where attending is allowed


def attention_backward(Q, K, V, dO, mask):
    s = 1 / np.sqrt(Q.shape[-1])
    scores = np.where(mask, s * Q @ K.T, -np.inf)
    P = np.exp(scores - scores.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    dV = P.T @ dO
    dP = dO @ V.T
    dS = P * (dP - (dP * P).sum(axis=1, keepdims=True))
    return s * dS @ K, s * dS.T @ Q, dV


dQ, dK, dV = attention_backward(Q, K, V, dO, mask)

q, k, v = (cr.tensor(a[None], requires_grad=True) for a in (Q, K, V))
(F.scaled_dot_product_attention(q, k, v, attn_mask=mask[None]) * cr.tensor(dO[None])).sum().backward()
tq, tk, tv = (torch.tensor(a[None], requires_grad=True) for a in (Q, K, V))
(torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.tensor(mask[None]))
 * torch.tensor(dO[None])).sum().backward()
for name, mine, ours, theirs in zip("QKV", (dQ, dK, dV), (q, k, v), (tq, tk, tv)):
    print(f"d{name}: max |by hand − chainrule| = {np.abs(mine - ours.grad[0]).max():.1e}, "
          f"max |by hand − torch| = {np.abs(mine - theirs.grad[0].numpy()).max():.1e}")
    assert np.allclose(mine, ours.grad[0], rtol=1e-12, atol=1e-14)
    assert np.allclose(mine, theirs.grad[0].numpy(), rtol=1e-12, atol=1e-14)

# %% [markdown]
# And by finite differences, for Q (the gradient that goes through the softmax):

# %%
def attention(Q):
    scores = np.where(mask, Q @ K.T / np.sqrt(d), -np.inf)
    P = np.exp(scores - scores.max(axis=1, keepdims=True))
    return ((P / P.sum(axis=1, keepdims=True)) @ V * dO).sum()


numeric = central_differences(attention, Q)
print(f"dQ: max |by hand − finite differences| = {np.abs(numeric - dQ).max():.1e}")
assert np.allclose(numeric, dQ, rtol=1e-7, atol=1e-8)

# %% [markdown]
# ## What to take away
#
# - Backprop through time is the one-step derivation applied from the last step to the first, with
#   two gradients carried between steps (dh through W_hh, dc through f) and the weight gradients summed.
# - The softmax's backward is a rowwise "subtract the P-weighted mean of dP, then multiply by P":
#   no Jacobian, and masked entries drop out by themselves.
# - `chainrule train --model charlm` trains both on real text: an LSTM by default, `--arch
#   transformer` for a small GPT built from these attention blocks.
