import torch
from torch import nn, optim

signals = torch.from_numpy(data["signals"])
labels = torch.from_numpy(data["labels"][:6])
model = nn.Sequential(nn.Conv1d(2, 8, 3, padding=1), nn.GroupNorm(2, 8), nn.Mish(), nn.MaxPool1d(2),
                      nn.Conv1d(8, 8, 3), nn.Hardswish(), nn.Flatten(), nn.Linear(8 * 4, 4))
model.load_state_dict(init_state(model))
opt = optim.RAdam(model.parameters(), lr=0.01)
for step in range(8):
    opt.zero_grad()
    loss = nn.CrossEntropyLoss()(model(signals), labels)
    loss.backward()
    opt.step()
result = {"loss": loss.item()}
