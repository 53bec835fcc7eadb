# %% [markdown]
# # 2 · The chain rule on a two-variable function
#
# A function small enough to differentiate on paper, big enough to need the chain rule
# many times over (the classic example of CS231n's backprop notes):
#
#     f(x, y) = (x + σ(y)) / (σ(x) + (x + y)²)        σ(z) = 1 / (1 + e⁻ᶻ)
#
# at x = 3, y = −4. Its exact derivatives there are df/dx ≈ 2.0595697955721652 and
# df/dy ≈ 1.5922327514838093. We get them three ways: by hand, staged the way backprop
# stages them; through chainrule's graph; and with PyTorch.
#
# The one fact about σ we need: **σ'(z) = σ(z)·(1 − σ(z))**.

# %%
import math
import tempfile
from pathlib import Path

import numpy as np

import chainrule as cr

X, Y = 3.0, -4.0
KNOWN_DX, KNOWN_DY = 2.0595697955721652, 1.5922327514838093

def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))

# %% [markdown]
# ## By hand: stage the forward pass, then walk it backwards
#
# Break `f` into steps that each have an obvious derivative, keeping every
# intermediate value. Then go through the steps in reverse: each local derivative
# times the gradient flowing in from above. A variable used twice (x is used three
# times, y twice) collects the **sum** of the gradients from each use — the `+=` below.

# %%
# forward
sig_y = sigmoid(Y)              # σ(y)
num = X + sig_y                 # numerator
sig_x = sigmoid(X)              # σ(x)
x_plus_y = X + Y
square = x_plus_y ** 2
den = sig_x + square            # denominator
inv_den = 1.0 / den
f = num * inv_den
print(f"f(3, -4) = {f:.10f}")

# backward: d<v> is df/d<v>
d_num = inv_den                            # f = num · inv_den
d_inv_den = num
d_den = -1.0 / den ** 2 * d_inv_den        # inv_den = 1/den
d_sig_x = d_den                            # den = sig_x + square
d_square = d_den
d_x_plus_y = 2 * x_plus_y * d_square       # square = (x + y)²
dx = d_x_plus_y                            # x + y: both get the gradient
dy = d_x_plus_y
dx += sig_x * (1 - sig_x) * d_sig_x        # sig_x = σ(x)
dx += d_num                                # num = x + sig_y
d_sig_y = d_num
dy += sig_y * (1 - sig_y) * d_sig_y        # sig_y = σ(y)

print(f"by hand:  df/dx = {dx!r}   (known {KNOWN_DX!r})")
print(f"          df/dy = {dy!r}   (known {KNOWN_DY!r})")

# %% [markdown]
# ## Through the graph
#
# Written once as an ordinary expression, every operation becomes a node: `Add`,
# `Sigmoid`, `PowScalar`, `Div`… `cr.explain` lists the formulas that `backward()` is
# about to apply, in the order it applies them — the staged backward pass above,
# generated.

# %%
x = cr.tensor(X, dtype=np.float64, requires_grad=True)
y = cr.tensor(Y, dtype=np.float64, requires_grad=True)
x.name, y.name = "x", "y"
f_graph = (x + y.sigmoid()) / (x.sigmoid() + (x + y) ** 2)
cr.explain(f_graph)

# %% [markdown]
# Read it against the staged version: `Div#1` is `num · inv_den` (chainrule divides in
# one op), `Add#3` the denominator σ(x) + (x + y)², `PowScalar#1` the square, `Add#2`
# x + y, `Sigmoid#2` σ(x), `Add#1` the numerator x + σ(y), `Sigmoid#1` σ(y) — ops are
# numbered in the order the forward pass made them, and run backwards.

# %%
f_graph.backward(retain_graph=True)   # keep the graph to draw it with its gradients
print(f"graph:    df/dx = {x.grad.item()!r}   |error| {abs(x.grad.item() - KNOWN_DX):.1e}")
print(f"          df/dy = {y.grad.item()!r}   |error| {abs(y.grad.item() - KNOWN_DY):.1e}")

# %% [markdown]
# The picture of that graph: ops in blue, the inputs x and y with their values and the
# norms of their gradients, the shape and value of every intermediate on the edges. (Drawing needs Graphviz's `dot`
# program — `apt-get install graphviz`; without it `draw_graph` writes the `.dot` text only.)

# %%
from IPython.display import SVG, display

picture = Path(tempfile.mkdtemp()) / "sigmoid-example.svg"
written = cr.draw_graph(f_graph, picture)
if picture in written:
    display(SVG(filename=str(picture)))
else:
    print(written[0].read_text())

# %% [markdown]
# ## PyTorch
#
# Same expression, autograd's machinery: the third independent answer.

# %%
try:
    import torch
except ImportError:
    torch = None
    print("PyTorch is not installed: pip install torch to compare with it")
if torch is not None:
    tx = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(Y, dtype=torch.float64, requires_grad=True)
    ((tx + torch.sigmoid(ty)) / (torch.sigmoid(tx) + (tx + ty) ** 2)).backward()
    print(f"PyTorch:  df/dx = {tx.grad.item()!r}   |error| {abs(tx.grad.item() - KNOWN_DX):.1e}")
    print(f"          df/dy = {ty.grad.item()!r}   |error| {abs(ty.grad.item() - KNOWN_DY):.1e}")

# %% [markdown]
# All three agree to the last digit or two of float64. Next:
# [3 · an MLP on Fashion-MNIST](03-mlp-on-fashion-mnist.ipynb).
