"""Under mpiexec -n 2: each rank trains on its 64 of 128 rows with DistributedDataParallel,
starting from weights it initialised differently; rank 0 saves its initial (broadcast) and
final weights to argv[1]. tests/test_distributed.py checks them against one process."""
import sys

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn, optim

STEPS = 5

dist.init()
rank, world = dist.rank(), dist.world_size()
assert world == 2, world
data = np.random.default_rng(7).standard_normal((128, 6))
labels = np.arange(128) % 3
cr.manual_seed(100 + rank)  # a different initialisation on each rank
model = nn.Sequential(nn.Linear(6, 16, dtype=np.float64), nn.Tanh(), nn.Linear(16, 3, dtype=np.float64))
ddp = dist.DistributedDataParallel(model, bucket_mb=float(sys.argv[2]))
initial = {name: value.copy() for name, value in model.state_dict().items()}
opt = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
rows = slice(64 * rank, 64 * (rank + 1))
for _ in range(STEPS):
    opt.zero_grad()
    loss = nn.CrossEntropyLoss()(ddp(cr.tensor(data[rows])), cr.tensor(labels[rows]))
    loss.backward()
    opt.step()
final = {name: value for name, value in model.state_dict().items()}
others = {name: value.copy() for name, value in final.items()}
for value in others.values():
    dist.broadcast(value, root=1)
if rank == 0:
    np.savez(sys.argv[1], **{f"initial/{k}": v for k, v in initial.items()},
             **{f"final/{k}": v for k, v in final.items()}, **{f"rank1/{k}": v for k, v in others.items()},
             keys=np.array(list(ddp.state_dict())))
