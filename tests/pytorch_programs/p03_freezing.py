import torch
from torch import nn, optim

x = torch.from_numpy(data["x"])
labels = torch.from_numpy(data["labels"])
model = nn.Sequential(nn.Linear(3, 8), nn.GELU(), nn.Linear(8, 4))
model.load_state_dict(init_state(model))
frozen = model[0].weight.detach().numpy().copy()
model[0].requires_grad_(False)
opt = optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.05)
for step in range(20):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), labels)
    loss.backward()
    opt.step()
result = {"loss": loss.item(), "frozen_moved": float(abs(model[0].weight.detach().numpy() - frozen).max()),
          "grad_is_none": float(model[0].weight.grad is None)}
