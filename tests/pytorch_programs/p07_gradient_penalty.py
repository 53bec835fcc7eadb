import torch
from torch import nn, optim

real = torch.from_numpy(data["x"])
fake = torch.from_numpy(data["x"][::-1].copy()) * 0.5
critic = nn.Sequential(nn.Linear(3, 16), nn.Softplus(), nn.Linear(16, 1))
critic.load_state_dict(init_state(critic))
opt = optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
alpha = torch.from_numpy(data["alpha"])
for step in range(10):
    opt.zero_grad()
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grads,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    penalty = ((grads.norm(2, dim=1) - 1) ** 2).mean()
    loss = critic(fake).mean() - critic(real).mean() + 10.0 * penalty
    loss.backward()
    opt.step()
result = {"loss": loss.item(), "penalty": penalty.item()}
