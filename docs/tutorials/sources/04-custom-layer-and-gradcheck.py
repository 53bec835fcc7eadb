# %% [markdown]
# # 4 · A custom layer, and debugging its backward pass with `cr.gradcheck`
#
# We write a new layer — Swish with a learned slope per feature — derive its backward
# pass, make the two mistakes everybody makes, and let `cr.gradcheck` find them. Then
# we wrap it in an `nn.Module`, check the module, and train a network with it.
#
# (The text tutorial [debugging a backward pass](debugging-a-backward-pass.md) does the
# same for layer normalisation, with more of gradcheck's diagnoses.)
#
# ## The layer on paper
#
#     s = σ(β·x)      y = x·s          x: (N, D), β: (D,) → y: (N, D)
#
# With σ' = σ(1 − σ), and `dy` the gradient arriving at `y`:
#
# * y is a **product** of x and s(x), so **dx = dy·(s + x·β·s(1 − s))**
# * β is shared by every row of the batch, so its gradient **sums over the batch**:
#   **dβ = Σ_batch dy·x²·s(1 − s)**

# %%
import numpy as np

import chainrule as cr
from chainrule import data, nn, optim


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


rng = np.random.default_rng(0)
x = rng.standard_normal((6, 4))          # float64 while debugging: tight tolerances
beta = rng.uniform(0.5, 2.0, 4)

# %% [markdown]
# ## First attempt
#
# Forward saves what backward needs; backward returns one gradient per input.

# %%
class Swish(cr.Function):
    """y = x·σ(β·x).  x: (N, D), beta: (D,) → y: (N, D)"""

    formula = "dx = dy·(s + x·β·s(1 − s)), dbeta = Σ_batch dy·x²·s(1 − s)"

    def forward(self, x, beta):
        self.x, self.beta = x, beta
        self.s = sigmoid(beta * x)
        return x * self.s

    def backward(self, dy):
        x, b, s = self.x, self.beta, self.s
        dx = dy * (s + x * b * s * (1 - s))
        dbeta = dy * x * x * s * (1 - s)
        return dx, dbeta

# %% [markdown]
# `cr.gradcheck` takes the Function and example inputs, runs forward and backward by
# hand, and compares every gradient with finite differences in float64 (with a random
# upstream gradient, never all ones, so that mistakes cannot cancel out).

# %%
try:
    cr.gradcheck(Swish, [x, beta])
except cr.GradcheckError as error:
    print(error)

# %% [markdown]
# `dx` passes. `dβ` has the right values but the wrong shape: one row per sample. The
# diagnosis names the bug — the sum over the batch axis that β's broadcast calls for.
#
# ## Second attempt
#
# This time the sum is there, but the derivative of the product was written as if `s`
# did not depend on `x` — a very common slip.

# %%
class Swish(cr.Function):
    """y = x·σ(β·x).  x: (N, D), beta: (D,) → y: (N, D)"""

    formula = "dx = dy·(s + x·β·s(1 − s)), dbeta = Σ_batch dy·x²·s(1 − s)"

    def forward(self, x, beta):
        self.x, self.beta = x, beta
        self.s = sigmoid(beta * x)
        return x * self.s

    def backward(self, dy):
        x, s = self.x, self.s
        dx = dy * s
        dbeta = (dy * x * x * s * (1 - s)).sum(axis=0)
        return dx, dbeta


try:
    cr.gradcheck(Swish, [x, beta])
except cr.GradcheckError as error:
    print(error)
    report = error.report

# %% [markdown]
# Now every element of `dx` is wrong, and by no simple factor: not a sign, a scale or a
# transpose — the formula itself is wrong. The report keeps both gradients; where `x`
# is near 0 they almost agree, which points at a missing term proportional to `x`:
# the product rule's second term, `x·β·s(1 − s)`.

# %%
dx_check = report.gradients[0]
order = np.argsort(np.abs(x).ravel())
for index in order[[0, 1, -2, -1]]:
    row, col = np.unravel_index(index, x.shape)
    print(f"x = {x[row, col]:+.3f}:  backward gave {dx_check.analytical[row, col]:+.5f}, "
          f"finite differences {dx_check.numerical[row, col]:+.5f}")

# %% [markdown]
# ## Fixed

# %%
class Swish(cr.Function):
    """y = x·σ(β·x).  x: (N, D), beta: (D,) → y: (N, D)"""

    formula = "dx = dy·(s + x·β·s(1 − s)), dbeta = Σ_batch dy·x²·s(1 − s)"

    def forward(self, x, beta):
        self.x, self.beta = x, beta
        self.s = sigmoid(beta * x)
        return x * self.s

    def backward(self, dy):
        # y = x·s, s = σ(βx)  ⇒  dx = dy·(s + x·β·s(1 − s)), dβ = Σ_batch dy·x²·s(1 − s)
        x, b, s = self.x, self.beta, self.s
        ds = s * (1 - s)
        dx = dy * (s + x * b * ds)
        dbeta = (dy * x * x * ds).sum(axis=0)
        return dx, dbeta


print(cr.gradcheck(Swish, [x, beta]))

# %% [markdown]
# ## As a layer
#
# An `nn.Module` owns the parameter β (one per feature, starting at 1: plain SiLU) and
# calls the Function on Tensors, so the graph records it like any built-in op.
# `cr.gradcheck` on a module checks its input *and* its parameters through the graph.

# %%
class LearnedSwish(nn.Module):
    """y = x·σ(β·x) with a learned β per feature.  x: (N, features) → (N, features)"""

    def __init__(self, features: int, dtype=np.float32):
        super().__init__()
        self.beta = nn.Parameter(np.ones(features, dtype=dtype))

    def forward(self, x):
        return Swish()(x, self.beta)


print(cr.gradcheck(LearnedSwish(4, dtype=np.float64), [x]))

# %% [markdown]
# ## In a network
#
# A 784-256-10 network with the new layer, on 10,000 Fashion-MNIST images for two
# epochs. `cr.explain` shows our formula among the built-in ones, with the shapes of
# this batch; `cr.check_gradients` confirms that β receives a real gradient.

# %%
cr.manual_seed(0)
train_set, test_set = data.FashionMNIST(train=True), data.FashionMNIST(train=False)
transform = data.Compose([data.ToFloat(), data.Normalize(data.FASHION_MNIST_MEAN, data.FASHION_MNIST_STD),
                          data.Flatten()])
subset = (train_set.images[:10_000], train_set.labels[:10_000])
train_loader = data.DataLoader(subset, batch_size=128, shuffle=True, seed=0, transform=transform)
model = nn.Sequential(nn.Linear(784, 256), LearnedSwish(256), nn.Linear(256, 10))
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

xb, yb = next(iter(data.DataLoader(subset, batch_size=128, transform=transform)))
loss = loss_fn(model(xb), yb)
cr.explain(loss)
loss.backward()
print("gradient problems:", cr.check_gradients(model) or "none")

# %%
for epoch in range(2):
    for xb, yb in train_loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
test_x = cr.tensor(transform(test_set.images))
with cr.no_grad():
    accuracy = (model(test_x).numpy().argmax(axis=1) == test_set.labels).mean()
learned = model[1].beta.numpy()
print(f"test accuracy {accuracy:.2%}; learned β: mean {learned.mean():.3f}, "
      f"range {learned.min():.3f} … {learned.max():.3f}")

# %% [markdown]
# In two short epochs the slopes have moved only a little from 1 (SiLU already suits
# this problem), but they moved by the gradient we derived on paper — and checked.
