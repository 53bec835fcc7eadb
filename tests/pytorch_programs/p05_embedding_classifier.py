import torch
from torch import nn, optim
import torch.nn.functional as F


class BagOfWords(nn.Module):
    def __init__(self, vocabulary, width, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, width, padding_idx=0)
        self.head = nn.Linear(width, classes)

    def forward(self, tokens):
        vectors = self.embedding(tokens)
        mask = (tokens != 0).unsqueeze(-1).float()
        pooled = (vectors * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.head(pooled)


tokens = torch.from_numpy(data["tokens"])
labels = torch.from_numpy(data["labels"][:6])
model = BagOfWords(20, 8, 4)
model.load_state_dict(init_state(model))
opt = optim.RMSprop(model.parameters(), lr=0.01)
for step in range(25):
    opt.zero_grad()
    loss = F.cross_entropy(model(tokens), labels, ignore_index=3)
    loss.backward()
    opt.step()
result = {"loss": loss.item(), "padding_row": float(model.embedding.weight[0].abs().sum().item())}
