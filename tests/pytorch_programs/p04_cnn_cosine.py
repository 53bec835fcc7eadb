import torch
from torch import nn, optim

images = torch.from_numpy(data["images"])
labels = torch.from_numpy(data["labels"][:8])
model = nn.Sequential(
    nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
)
model.load_state_dict(init_state(model))
opt = optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01)
sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
model.train()
for step in range(10):
    opt.zero_grad()
    loss = nn.CrossEntropyLoss()(model(images), labels)
    loss.backward()
    opt.step()
    sched.step()
model.eval()
with torch.no_grad():
    logits = model(images)
result = {"loss": loss.item(), "eval_logit_sum": logits.sum().item(),
          "running_mean": model[1].running_mean.sum().item()}
