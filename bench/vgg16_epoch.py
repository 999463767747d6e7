"""PyTorch Python reference for bench_transfer: the same VGG16 (torchvision features, the study's
head), the same strategies and the same epoch (training pass + validation) on RetinaMNIST.

usage: /usr/bin/python3 bench/vgg16_epoch.py [epochs=3] [threads=2]   (needs MEDMNIST_ROOT)
"""
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
d = np.load(os.path.join(os.environ["MEDMNIST_ROOT"], "retinamnist.npz"))


def split(name):
    x = torch.from_numpy(d[f"{name}_images"]).permute(0, 3, 1, 2).float() / 127.5 - 1
    return x, torch.from_numpy(d[f"{name}_labels"][:, 0]).long()


(xt, yt), (xv, yv) = split("train"), split("val")


class Net(nn.Module):
    def __init__(self, px):
        super().__init__()
        self.px = px
        self.features = torchvision.models.vgg16().features
        self.head = nn.Sequential(nn.Linear(512, 256), nn.ReLU(True), nn.Dropout(0.5), nn.Linear(256, 5))

    def embed(self, x):
        x = F.interpolate(x, size=(self.px, self.px), mode="bilinear", align_corners=False)
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x):
        return self.head(self.embed(x))


def run(px, frozen):
    torch.manual_seed(0)
    net = Net(px)
    for i, layer in enumerate(net.features):
        for p in layer.parameters():
            p.requires_grad_(not frozen and i >= 17)  # blocks 1-3 are features[0:17]
    backbone = [p for p in net.features.parameters() if p.requires_grad]
    groups = [{"params": net.head.parameters(), "lr": 1e-3}]
    if backbone:
        groups.append({"params": backbone, "lr": 1e-4})
    opt = torch.optim.Adam(groups)
    seconds = []
    cache = None
    for _ in range(epochs):
        t0 = time.perf_counter()
        if frozen and cache is None:
            net.eval()
            with torch.no_grad():
                cache = (torch.cat([net.embed(xt[i:i + 256]) for i in range(0, len(xt), 256)]),
                         torch.cat([net.embed(xv[i:i + 256]) for i in range(0, len(xv), 256)]))
        net.train()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            logits = net.head(cache[0][idx]) if frozen else net(xt[idx])
            loss = F.cross_entropy(logits, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            for i in range(0, len(xv), 256):
                (net.head(cache[1][i:i + 256]) if frozen else net(xv[i:i + 256])).softmax(1)
        seconds.append(time.perf_counter() - t0)
    return seconds


for px in (32, 64):
    partial = run(px, False)
    frozen = run(px, True)
    print(f"{px} px: partly fine-tuned median {sorted(partial)[len(partial) // 2]:.3f} s/epoch; frozen first "
          f"epoch (with caching) {frozen[0]:.3f} s, then median {sorted(frozen[1:])[len(frozen[1:]) // 2]:.4f} "
          f"s/epoch (torch {torch.__version__}, {torch.get_num_threads()} threads)")
