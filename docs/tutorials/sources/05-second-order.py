# %% [markdown]
# # 5 · Gradients of gradients: Hessian-vector products, a gradient penalty, a Newton step
#
# `backward(create_graph=True)` and `cr.autograd.grad(..., create_graph=True)` record the
# backward pass itself, so a gradient is a Tensor with a graph of its own and can be
# differentiated again. Each op does it with its `backward_graph`: the same derivation as its
# `backward`, written with differentiable ops (for tanh, `dy·(1 − tanh(x)²)` with `tanh(x)`
# recomputed from the input, so that the next derivative sees its dependence on x).
#
# We check three classic uses against answers obtained another way.

# %%
import numpy as np

import chainrule as cr
from chainrule import nn

cr.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A Hessian-vector product, against the explicit Hessian
#
# For a loss L(θ), H·v = ∂⟨∂L/∂θ, v⟩/∂θ: one backward pass through the gradient's graph,
# never the n×n matrix H. A small MLP, float64, its parameters flattened into θ.

# %%
model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
x = cr.tensor(rng.standard_normal((5, 3)), dtype="float64")
labels = np.array([0, 1, 1, 0, 1])
params = list(model.parameters())
sizes = [p.size for p in params]
print("parameters:", sum(sizes))


def loss_fn():
    return nn.functional.cross_entropy(model(x), labels)


def flat(tensors):
    """One vector from a gradient per parameter (None, for a parameter it does not depend on, is 0)."""
    return np.concatenate([np.zeros(p.size) if t is None else t.numpy().ravel() for t, p in zip(tensors, params)])


def hvp(v: np.ndarray) -> np.ndarray:
    """H·v through create_graph=True: a gradient with a graph, then its gradient."""
    grads = cr.autograd.grad(loss_fn(), params, create_graph=True)
    pieces = np.split(v, np.cumsum(sizes)[:-1])
    dot = sum((g * cr.tensor(u.reshape(g.shape))).sum() for g, u in zip(grads, pieces))
    return flat(cr.autograd.grad(dot, params))


v = rng.standard_normal(sum(sizes))
print("H·v[:5] =", hvp(v)[:5].round(6))

# %% [markdown]
# The explicit Hessian two other ways: row by row, differentiating each element of the
# gradient on its own (n backward passes), and by central differences of the first-order
# gradient, which never touches `backward_graph`.

# %%
grads = cr.autograd.grad(loss_fn(), params, create_graph=True)
flat_grad = cr.cat([g.reshape(-1) for g in grads])
rows = [flat(cr.autograd.grad(flat_grad[i], params, retain_graph=True, allow_unused=True))
        for i in range(flat_grad.shape[0])]
H = np.stack(rows)


def gradient_at(theta: np.ndarray) -> np.ndarray:
    for p, piece in zip(params, np.split(theta, np.cumsum(sizes)[:-1])):
        p.data = piece.reshape(p.shape).copy()
    return flat(cr.autograd.grad(loss_fn(), params))


theta0 = flat(params)
h = 1e-5
H_fd = np.stack([(gradient_at(theta0 + h * e) - gradient_at(theta0 - h * e)) / (2 * h)
                 for e in np.eye(theta0.size)], axis=1)
gradient_at(theta0)  # put the parameters back

print(f"|H·v − (rows of H)·v|  = {np.abs(hvp(v) - H @ v).max():.1e}")
print(f"|H − finite differences| = {np.abs(H - H_fd).max():.1e}")
print(f"|H − Hᵀ|               = {np.abs(H - H.T).max():.1e}   (a Hessian is symmetric)")
assert np.allclose(hvp(v), H @ v, rtol=1e-10, atol=1e-12) and np.allclose(H, H_fd, rtol=1e-6, atol=1e-8)

# %% [markdown]
# ## 2. A gradient penalty (WGAN-GP)
#
# A critic D is kept 1-Lipschitz by the penalty P = λ·mean((‖∇ₓD(x̂)‖ − 1)²), x̂ between real
# and fake samples. P depends on a gradient, so training on it needs the gradient of a
# gradient. We train a critic on the penalty alone and watch ‖∇ₓD‖ go to 1.

# %%
critic = nn.Sequential(nn.Linear(2, 16), nn.SiLU(), nn.Linear(16, 1)).double()
opt = cr.optim.Adam(critic.parameters(), lr=0.01)
real, fake = rng.standard_normal((64, 2)) + 2.0, rng.standard_normal((64, 2))


def penalty():
    t = rng.uniform(0, 1, (64, 1))
    x_hat = cr.tensor(t * real + (1 - t) * fake, dtype="float64", requires_grad=True)
    (gx,) = cr.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norms = ((gx * gx).sum(axis=1) + 1e-12).sqrt()
    return 10.0 * ((norms - 1.0) ** 2).mean(), norms


for step in range(201):
    opt.zero_grad()
    p, norms = penalty()
    p.backward()
    opt.step()
    if step % 50 == 0:
        print(f"step {step:3d}   penalty {p.item():8.5f}   mean ‖∇D‖ {norms.numpy().mean():.4f}")

# %% [markdown]
# Is the penalty's gradient right? One weight of the critic, against central differences of
# P itself (with the same x̂, so the random draw is held fixed).

# %%
t = rng.uniform(0, 1, (64, 1))
x_fixed = t * real + (1 - t) * fake


def penalty_at(x_values):
    x_hat = cr.tensor(x_values, dtype="float64", requires_grad=True)
    (gx,) = cr.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return 10.0 * (((gx * gx).sum(axis=1) + 1e-12).sqrt() - 1.0).pow(2).mean()


w = critic[0].weight
(dw,) = cr.autograd.grad(penalty_at(x_fixed), w)
base = w.data.copy()
w.data = base.copy(); w.data[3, 1] += 1e-6
up = penalty_at(x_fixed).item()
w.data = base.copy(); w.data[3, 1] -= 1e-6
down = penalty_at(x_fixed).item()
w.data = base
print(f"dP/dw[3,1]: autograd {dw.numpy()[3, 1]:.10f}, central differences {(up - down) / 2e-6:.10f}")
assert abs(dw.numpy()[3, 1] - (up - down) / 2e-6) < 1e-7

# %% [markdown]
# ## 3. One Newton step on least squares
#
# For L(w) = ½‖A·w − b‖², the gradient is Aᵀ(A·w − b) and the Hessian AᵀA, so one Newton
# step w − H⁻¹·∇L lands on the least-squares solution from anywhere. Both come from
# autograd here; NumPy's `lstsq` gives the answer to compare with.

# %%
A = rng.standard_normal((20, 3))
b = rng.standard_normal(20)
w = cr.tensor(rng.standard_normal(3), dtype="float64", requires_grad=True)

loss = 0.5 * ((cr.tensor(A) @ w - cr.tensor(b)) ** 2).sum()
(g,) = cr.autograd.grad(loss, w, create_graph=True)
H = np.stack([cr.autograd.grad(g[i], w, retain_graph=True)[0].numpy() for i in range(3)])
w_newton = w.numpy() - np.linalg.solve(H, g.numpy())
w_lstsq = np.linalg.lstsq(A, b, rcond=None)[0]
print("Hessian = AᵀA:", np.allclose(H, A.T @ A, rtol=1e-12, atol=1e-12))
print("Newton step :", w_newton.round(10))
print("lstsq       :", w_lstsq.round(10))
assert np.allclose(w_newton, w_lstsq, rtol=1e-10, atol=1e-12)

# %% [markdown]
# ## When a `backward_graph` is wrong
#
# `cr.gradcheck(fn, inputs, order=2)` (or `chainrule check FILE.py:NAME --shape … --order 2`)
# checks the second order: each node's `backward_graph` against its `backward` during one
# `create_graph=True` pass — naming the op — then the derivative of the gradient against
# finite differences of the first-order gradient. A classic slip is to reuse an array that
# forward saved: the value is right, but on the graph it is a constant, so a term of the
# second derivative is lost.

# %%
class Cube(cr.Function):
    """y = x³ ⇒ dx = 3x²·dy."""

    def forward(self, x):
        self.save_for_backward(x)
        return x**3

    def backward(self, dy):
        (x,) = self.saved_tensors
        return (3 * x**2 * dy,)

    def backward_graph(self, dy):
        (x,) = self.saved_tensors
        return (cr.tensor(3 * x**2) * dy,)  # the slip: x from forward's saved array, a constant


report = cr.gradcheck(Cube, [rng.uniform(0.5, 1.5, (2, 3))], order=2, raise_on_fail=False)
print(report)
