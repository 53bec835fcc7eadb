import torch
from torch import nn, optim

x = torch.from_numpy(data["x"])
y = x.sum(dim=1, keepdim=True)


def build():
    model = nn.Sequential(nn.Linear(3, 8), nn.SiLU(), nn.Linear(8, 1))
    model.load_state_dict(init_state(model))
    return model, optim.Adam(model.parameters(), lr=0.02)


def train(model, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return loss.item()


straight_model, straight_opt = build()
straight = train(straight_model, straight_opt, 10)
model, opt = build()
train(model, opt, 5)
torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path("checkpoint"))
checkpoint = torch.load(path("checkpoint"))
model, opt = build()
model.load_state_dict(checkpoint["model"])
opt.load_state_dict(checkpoint["optimizer"])
resumed = train(model, opt, 5)
result = {"straight": straight, "resumed": resumed}
