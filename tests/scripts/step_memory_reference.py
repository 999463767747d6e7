"""PyTorch's own count of what a training step and an evaluation batch allocate on the CPU (its profiler's
memory records, summed in time order), for tests/engine/step_memory_test.cpp: Linear(1000, 1000), tanh,
Linear(1000, 1000), tanh at two batch sizes, written as the peak's fixed part and its growth per row.

usage: python3 step_memory_reference.py ROWS1 ROWS2    (prints one JSON line)
"""
import json
import sys

import torch
from torch.profiler import ProfilerActivity, profile

torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(1000, 1000), torch.nn.Tanh(), torch.nn.Linear(1000, 1000),
                          torch.nn.Tanh())


def peak(rows, train):
    x = torch.randn(rows, 1000)
    for p in net.parameters():
        p.grad = None
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        if train:
            out = net(x)
            out.sum().backward()
        else:
            with torch.no_grad():
                out = net(x)
    records = sorted((e.start_us(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                     if e.name() == "[memory]")
    now = top = 0
    for _, nbytes in records:
        now += nbytes
        top = max(top, now)
    return top


r1, r2 = int(sys.argv[1]), int(sys.argv[2])
result = {}
for name, train in (("train", True), ("eval", False)):
    p1, p2 = peak(r1, train), peak(r2, train)
    per_row = (p2 - p1) / (r2 - r1)
    result[name] = {"per_row": per_row, "fixed": p2 - per_row * r2}
print(json.dumps(result))
