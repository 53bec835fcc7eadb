"""Under mpiexec -n 2: rank 1 fails (argv[1] = "raise") or stops taking part (argv[1] = "hang")
after two steps; the job must end, not wait forever."""
import sys
import time

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn, optim

dist.init()
model = dist.DistributedDataParallel(nn.Linear(4, 2, dtype=np.float64))
opt = optim.SGD(model.parameters(), lr=0.1)
for step in range(100):
    if dist.rank() == 1 and step == 2:
        if sys.argv[1] == "raise":
            raise RuntimeError("rank 1 fails on purpose")
        time.sleep(600)  # alive, but never reaches the next all-reduce
    opt.zero_grad()
    model(cr.tensor(np.ones((3, 4)))).sum().backward()
    opt.step()
print("rank", dist.rank(), "finished every step", flush=True)
