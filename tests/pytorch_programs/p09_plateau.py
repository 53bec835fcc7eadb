import torch
from torch import nn, optim

x = torch.from_numpy(data["x"])
y = torch.from_numpy(data["y"])
model = nn.Linear(3, 1)
model.load_state_dict(init_state(model))
opt = optim.SGD(model.parameters(), lr=0.5)
sched = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
for epoch in range(12):
    opt.zero_grad()
    loss = nn.HuberLoss(delta=0.5)(model(x), y)
    loss.backward()
    opt.step()
    with torch.no_grad():
        validation = nn.functional.l1_loss(model(x), y).item()
    sched.step(validation)
result = {"loss": loss.item(), "lr": opt.param_groups[0]["lr"]}
