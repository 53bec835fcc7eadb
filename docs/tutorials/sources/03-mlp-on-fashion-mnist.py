# %% [markdown]
# # 3 · An MLP on Fashion-MNIST, from scratch to a trained model
#
# 70,000 grey 28×28 pictures of clothes in 10 classes. We build a 784-512-512-10 ReLU
# network, look inside one training step (every op, its shapes, the memory it keeps
# for backward, the formulas of its backward pass, the graph), train it for two epochs
# with a loop written out in full, and plot what it learned.
#
# The data comes from Debian's `dataset-fashion-mnist` package when installed, else
# from `$CHAINRULE_DATA`, the user cache, or a verified download.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
from chainrule import data, nn, optim

cr.manual_seed(0)
train_set = data.FashionMNIST(train=True)
test_set = data.FashionMNIST(train=False)
classes = train_set.classes
print(f"train: {train_set.images.shape} {train_set.images.dtype}, test: {test_set.images.shape}")
print("classes:", ", ".join(classes))

# %%
fig, axes = plt.subplots(2, 8, figsize=(10, 3))
for ax, index in zip(axes.flat, range(16)):
    ax.imshow(train_set.images[index], cmap="gray_r")
    ax.set_title(classes[train_set.labels[index]], fontsize=8)
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Batches
#
# Pixels go from uint8 to float32 in [0, 1], are standardised with the training set's
# mean and standard deviation, and flattened to 784 numbers. The loader shuffles with a
# fixed seed, so every run sees the same batches.

# %%
transform = data.Compose([data.ToFloat(), data.Normalize(data.FASHION_MNIST_MEAN, data.FASHION_MNIST_STD),
                          data.Flatten()])
train_loader = data.DataLoader(train_set, batch_size=128, shuffle=True, seed=0, transform=transform)
test_loader = data.DataLoader(test_set, batch_size=1000, transform=transform)
x, y = next(iter(data.DataLoader(train_set, batch_size=128, transform=transform)))
print(f"one batch: x {x.shape} {x.dtype}, y {y.shape} {y.dtype}")

# %% [markdown]
# ## The model
#
# Three `nn.Linear` layers (each calls the hand-derived `ops.Linear`) with ReLUs between,
# and the fused softmax + cross-entropy loss.

# %%
model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
loss_fn = nn.CrossEntropyLoss()
print(model)
print(f"{sum(p.size for p in model.parameters()):,} parameters")

# %% [markdown]
# ## Inside one training step
#
# `cr.trace()` records every op of the forward and backward pass: its input and output
# shapes, the bytes it keeps for its backward pass (a Linear keeps its input `x` and its
# weight `W`; a ReLU its output), and the time spent in each direction. The peak is the
# most memory held for backward at any moment — each buffer counted once.

# %%
loss_fn(model(x), y).backward()  # warm-up, untraced: the first call of each matrix routine is slow
with cr.trace() as t:
    loss = loss_fn(model(x), y)
    loss.backward()
print(t)

# %% [markdown]
# `cr.explain` shows the backward pass as the chain of formulas it applies, with this
# batch's shapes: the loss's gradient first, then each layer from the last to the first.
# (It reads the graph, so it runs before `backward()`, which frees it.)

# %%
loss = loss_fn(model(x), y)
cr.explain(loss)

# %% [markdown]
# And the graph itself, with the norm of every parameter's gradient after this backward
# pass (drawn with Graphviz's `dot`; `backward(retain_graph=True)` keeps the graph to draw).

# %%
import tempfile
from pathlib import Path

from IPython.display import SVG, display

loss.backward(retain_graph=True)
picture = Path(tempfile.mkdtemp()) / "mlp.svg"
if picture in cr.draw_graph(loss, picture, model=model):
    display(SVG(filename=str(picture)))

# %% [markdown]
# ## Training
#
# The loop, written out: forward, loss, clear the old gradients, backward, update.
# SGD with momentum 0.9 and learning rate 0.05. After the first step `cr.check_gradients`
# makes sure every parameter got a finite, non-zero gradient (`chainrule.train.fit`, the
# ready-made loop with progress bars and checkpoints, does this check by itself).

# %%
def evaluate(model, loader):
    """Mean loss and accuracy over a loader, and every prediction, without recording a graph."""
    model.eval()
    total, correct, predictions = 0.0, 0, []
    with cr.no_grad():
        for xb, yb in loader:
            logits = model(xb)
            total += loss_fn(logits, yb).item() * len(yb)
            predicted = logits.numpy().argmax(axis=1)
            correct += int((predicted == yb.numpy()).sum())
            predictions.append(predicted)
    model.train()
    count = len(loader.y)
    return total / count, correct / count, np.concatenate(predictions)


cr.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
step_losses, epochs = [], []
for epoch in range(1, 3):
    started = time.perf_counter()
    for xb, yb in train_loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if not step_losses:
            cr.check_gradients(model)
        step_losses.append(loss.item())
    seconds = time.perf_counter() - started
    test_loss, test_acc, predictions = evaluate(model, test_loader)
    epochs.append({"epoch": epoch, "test_loss": test_loss, "test_acc": test_acc})
    print(f"epoch {epoch}: train loss {np.mean(step_losses[-len(train_loader):]):.4f}, "
          f"test loss {test_loss:.4f}, test accuracy {test_acc:.2%}  ({seconds:.1f} s)")

# %% [markdown]
# ## What it learned
#
# The training loss per step (and its running mean), and the confusion matrix on the
# 10,000 test images: row = true class, column = predicted class.

# %%
smoothed = np.convolve(step_losses, np.ones(50) / 50, mode="valid")
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(step_losses, alpha=0.3, label="per step")
ax.plot(np.arange(49, len(step_losses)), smoothed, label="mean of 50 steps")
ax.set_xlabel("step")
ax.set_ylabel("training loss")
ax.legend()
plt.show()

# %%
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (test_set.labels, predictions), 1)
fig, ax = plt.subplots(figsize=(6, 5))
ax.imshow(confusion, cmap="Blues")
ax.set_xticks(range(10), classes, rotation=90)
ax.set_yticks(range(10), classes)
for i in range(10):
    for j in range(10):
        ax.text(j, i, confusion[i, j], ha="center", va="center", fontsize=7,
                color="white" if confusion[i, j] > confusion.max() / 2 else "black")
ax.set_xlabel("predicted")
ax.set_ylabel("true")
plt.tight_layout()
plt.show()
worst = np.argmin(np.diag(confusion) / confusion.sum(axis=1))
print(f"hardest class: {classes[worst]} ({confusion[worst, worst] / confusion[worst].sum():.0%} right), "
      f"most often taken for {classes[np.argsort(confusion[worst])[-2]]}")

# %% [markdown]
# Some test images with the model's guess (red when wrong):

# %%
fig, axes = plt.subplots(2, 8, figsize=(10, 3))
for ax, index in zip(axes.flat, range(16)):
    ax.imshow(test_set.images[index], cmap="gray_r")
    right = predictions[index] == test_set.labels[index]
    ax.set_title(classes[predictions[index]], fontsize=8, color="black" if right else "red")
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# Two epochs give about 85–88% test accuracy; `chainrule train` (15 epochs, a cosine
# learning-rate schedule, weight decay) reaches about 90%. Next:
# [4 · a custom layer, and debugging its backward pass](04-custom-layer-and-gradcheck.ipynb).
