import torch
from torch import nn, optim


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 8), nn.Tanh())
        self.heads = nn.ModuleDict({"class": nn.Linear(8, 4), "value": nn.Linear(8, 1)})

    def forward(self, x):
        features = self.body(x)
        return self.heads["class"](features), self.heads["value"](features)


x = torch.from_numpy(data["x"])
labels = torch.from_numpy(data["labels"])
y = torch.from_numpy(data["y"])
model = TwoHeads()
model.load_state_dict(init_state(model))
captured = {}
handle = model.body.register_forward_hook(lambda module, args, output: captured.update(mean=output.mean().item()))
opt = optim.Adagrad(model.parameters(), lr=0.1)
for step in range(10):
    opt.zero_grad()
    logits, value = model(x)
    loss = nn.CrossEntropyLoss()(logits, labels) + nn.SmoothL1Loss()(value, y)
    loss.backward()
    opt.step()
handle.remove()
vector = nn.utils.parameters_to_vector(model.parameters())
result = {"loss": loss.item(), "feature_mean": captured["mean"], "parameters": float(vector.shape[0])}
