"""Make the README's "See inside" figures: print the trace of one training step of the
784-512-512-10 MLP on a Fashion-MNIST batch, and draw its graph to docs/images/mlp-graph.svg.

    python docs/images/make_inspect_figures.py
"""
from pathlib import Path

import chainrule as cr
from chainrule import data, nn

cr.manual_seed(0)
transform = data.Compose([data.ToFloat(), data.Normalize(data.FASHION_MNIST_MEAN, data.FASHION_MNIST_STD),
                          data.Flatten()])
x, y = next(iter(data.DataLoader(data.FashionMNIST(train=True), batch_size=128, transform=transform)))
model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
loss_fn = nn.CrossEntropyLoss()
loss_fn(model(x), y).backward()  # warm-up: the first call of each matrix routine is slow

with cr.trace() as t:
    loss = loss_fn(model(x), y)
    loss.backward(retain_graph=True)
print(t)
print(cr.draw_graph(loss, Path(__file__).resolve().parent / "mlp-graph.svg", model=model))
