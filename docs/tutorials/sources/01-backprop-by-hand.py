# %% [markdown]
# # 1 · Backprop by hand: Linear, ReLU and MSE
#
# A two-layer network and a squared-error loss, derived on paper, coded as chainrule
# `Function`s, run **by hand** (forward, then backward in reverse order, passing each
# gradient on ourselves), then run **through the graph** (`loss.backward()` does the
# passing), and finally compared with PyTorch.
#
# The network: for a batch `x` of N rows,
#
#     h = x·W₁ᵀ + b₁      a = relu(h)      p = a·W₂ᵀ + b₂      L = (1/n)·Σ (p − t)²
#
# where n is the number of elements of `p`. Backprop computes dL/d(everything) from
# the end to the start; each step only needs the gradient of its own output, `dy`,
# and what it saved in the forward pass.

# %%
import numpy as np

import chainrule as cr

rng = np.random.default_rng(0)
N, D_IN, HIDDEN, D_OUT = 5, 4, 3, 2
x = rng.standard_normal((N, D_IN))
t = rng.standard_normal((N, D_OUT))
W1, b1 = rng.standard_normal((HIDDEN, D_IN)), rng.standard_normal(HIDDEN)
W2, b2 = rng.standard_normal((D_OUT, HIDDEN)), rng.standard_normal(D_OUT)

# %% [markdown]
# ## Linear: y = x·Wᵀ + b
#
# Element by element, `y[n, j] = Σ_i x[n, i]·W[j, i] + b[j]`. With `dy[n, j] = ∂L/∂y[n, j]`
# the chain rule sums over every `y` that a variable touches:
#
# * `∂L/∂x[n, i] = Σ_j dy[n, j]·W[j, i]`, i.e. **dx = dy·W**  — shapes (N×D_out)·(D_out×D_in) → (N×D_in)
# * `∂L/∂W[j, i] = Σ_n dy[n, j]·x[n, i]`, i.e. **dW = dyᵀ·x** — (D_out×N)·(N×D_in) → (D_out×D_in)
# * `∂L/∂b[j] = Σ_n dy[n, j]`, i.e. **db = Σ_batch dy** — b was added to every row
#
# A check that catches most mistakes: each gradient has the shape of its variable.

# %%
class Linear(cr.Function):
    """y = x·Wᵀ + b.  x: (N, D_in), W: (D_out, D_in), b: (D_out,) → y: (N, D_out)"""

    formula = "dx = dy·W, dW = dyᵀ·x, db = Σ_batch dy"   # what cr.explain prints

    def forward(self, x, W, b):
        self.x, self.W = x, W          # saved for backward
        return x @ W.T + b

    def backward(self, dy):
        # y = x·Wᵀ + b  ⇒  dx = dy·W, dW = dyᵀ·x, db = Σ_batch dy
        return dy @ self.W, dy.T @ self.x, dy.sum(axis=0)

# %% [markdown]
# ## ReLU: y = max(x, 0)
#
# Elementwise, so the Jacobian is diagonal: `∂y/∂x` is 1 where `x > 0` and 0 elsewhere.
# Hence **dx = dy·[x > 0]** (a mask; at exactly 0 we take 0, as PyTorch does).
#
# ## MSE: L = (1/n)·Σ (p − t)²
#
# `∂L/∂p = 2(p − t)/n` and `∂L/∂t = −2(p − t)/n`. The loss is the last op, so the
# gradient arriving at it is `dL/dL = 1`; multiplying by `dy` anyway keeps the Function
# usable in the middle of a bigger graph.

# %%
class ReLU(cr.Function):
    """y = max(x, 0).  x: S → y: S"""

    formula = "dx = dy·[x > 0]"

    def forward(self, x):
        self.positive = x > 0
        return np.where(self.positive, x, 0.0)

    def backward(self, dy):
        # y = max(x, 0)  ⇒  dx = dy·[x > 0]
        return (dy * self.positive,)


class MSE(cr.Function):
    """L = mean((p − t)²).  p: S, t: S → L: ()"""

    formula = "dp = 2(p − t)·dy / n, dt = −2(p − t)·dy / n"

    def forward(self, p, t):
        self.diff = p - t
        return np.mean(self.diff ** 2)

    def backward(self, dy):
        # L = (1/n)·Σ (p − t)²  ⇒  dp = 2(p − t)·dy/n, dt = −dp
        dp = 2 * self.diff * dy / self.diff.size
        return dp, -dp

# %% [markdown]
# ## By hand: forward, then backward in reverse
#
# Each Function object is one node. We call `forward` on plain arrays and keep the
# objects; then we call `backward` from the loss back to the input, feeding each one
# the gradient of its output. This *is* backpropagation — nothing else happens.

# %%
linear1, relu, linear2, mse = Linear(), ReLU(), Linear(), MSE()

h = linear1.forward(x, W1, b1)
a = relu.forward(h)
p = linear2.forward(a, W2, b2)
loss = mse.forward(p, t)
print(f"loss = {loss:.6f}")

dp, dt = mse.backward(1.0)                 # dL/dL = 1
da, dW2, db2 = linear2.backward(dp)
(dh,) = relu.backward(da)
dx, dW1, db1 = linear1.backward(dh)

for name, grad, var in [("dW1", dW1, W1), ("db1", db1, b1), ("dW2", dW2, W2), ("db2", db2, b2), ("dx", dx, x)]:
    print(f"{name}: shape {grad.shape} (its variable: {var.shape})")

# %% [markdown]
# ### Is it right? Nudge one weight and watch the loss
#
# A derivative is a rate of change: move `W1[1, 2]` by ±ε and the loss should move by
# about ±ε·dW1[1, 2]. The central difference `(L(w + ε) − L(w − ε)) / 2ε` estimates it.

# %%
def loss_at(W1_):
    h_ = x @ W1_.T + b1
    p_ = np.maximum(h_, 0) @ W2.T + b2
    return np.mean((p_ - t) ** 2)

eps = 1e-6
bumped_up, bumped_down = W1.copy(), W1.copy()
bumped_up[1, 2] += eps
bumped_down[1, 2] -= eps
numerical = (loss_at(bumped_up) - loss_at(bumped_down)) / (2 * eps)
print(f"backprop dW1[1, 2] = {dW1[1, 2]:.10f}")
print(f"numerical          = {numerical:.10f}")

# %% [markdown]
# ## The same through the graph
#
# Called on Tensors, each Function records itself as the creator of its output.
# `loss.backward()` then walks those records in reverse topological order and does
# exactly the bookkeeping we did by hand.

# %%
x_t = cr.tensor(x)
t_t = cr.tensor(t)
params = {name: cr.tensor(value, requires_grad=True) for name, value in
          [("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2)]}

loss_t = MSE()(Linear()(ReLU()(Linear()(x_t, params["W1"], params["b1"])), params["W2"], params["b2"]), t_t)
cr.explain(loss_t)      # the formulas backward() is about to apply, with this run's shapes
loss_t.backward()

by_hand = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
for name, tensor in params.items():
    print(f"{name}: graph vs by hand, max |difference| = {np.abs(tensor.grad - by_hand[name]).max():.1e}")

# %% [markdown]
# ## chainrule's own ops, and PyTorch
#
# chainrule's built-in `cr.linear`, `cr.relu` and `cr.mse` are the same derivations
# (fused and tuned). PyTorch's autograd computes the same gradients by its own
# machinery — an independent check.

# %%
builtin = {name: cr.tensor(value, requires_grad=True) for name, value in
           [("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2)]}
out = cr.linear(cr.relu(cr.linear(x_t, builtin["W1"], builtin["b1"])), builtin["W2"], builtin["b2"])
cr.mse(out, t_t).backward()
for name, tensor in builtin.items():
    print(f"{name}: built-in vs by hand, max |difference| = {np.abs(tensor.grad - by_hand[name]).max():.1e}")

try:
    import torch
except ImportError:
    torch = None
    print("PyTorch is not installed: pip install torch to compare with it")
if torch is not None:
    reference = {name: torch.tensor(value, requires_grad=True) for name, value in
                 [("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2)]}
    out = torch.relu(torch.tensor(x) @ reference["W1"].T + reference["b1"]) @ reference["W2"].T + reference["b2"]
    torch.nn.functional.mse_loss(out, torch.tensor(t)).backward()
    for name, tensor in reference.items():
        difference = np.abs(tensor.grad.numpy() - by_hand[name]).max()
        print(f"{name}: PyTorch vs by hand, max |difference| = {difference:.1e}")

# %% [markdown]
# Agreement to within a few units of float64 rounding (1e-16 relative) in every gradient. Next:
# [2 · the chain rule on a two-variable function](02-chain-rule-with-sigmoids.ipynb).
