import torch
from torch import nn, optim

torch.manual_seed(0)
x = torch.from_numpy(data["x"])
y = (x[:, :1] * 2.0 - x[:, 1:2] * 0.5 + 0.1)
model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))
model.load_state_dict(init_state(model))
opt = optim.Adam(model.parameters(), lr=0.01)
sched = optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
loss_fn = nn.MSELoss()
for step in range(40):
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    sched.step()
result = {"loss": loss.item(), "lr": sched.get_last_lr()[0]}
