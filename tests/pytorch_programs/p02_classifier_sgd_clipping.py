import torch
from torch import nn, optim

x = torch.from_numpy(data["x"])
labels = torch.from_numpy(data["labels"])
model = nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 4))
model.load_state_dict(init_state(model))
opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
norms = []
for epoch in range(30):
    opt.zero_grad()
    loss = criterion(model(x), labels)
    loss.backward()
    norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)))
    opt.step()
with torch.no_grad():
    accuracy = (model(x).argmax(dim=1) == labels).float().mean().item()
result = {"loss": loss.item(), "accuracy": accuracy, "first_norm": norms[0], "last_norm": norms[-1]}
