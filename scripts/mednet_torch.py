#!/usr/bin/env python3
"""mednet's networks in PyTorch, for weights written by `mednet export --format safetensors`.

    import mednet_torch
    model, meta = mednet_torch.load("model.safetensors")    # eval mode, weights loaded
    logits = model(x)   # x: float32 [N, C, H, W] (or [N, C, D, H, W]); meta["mednet.input"] says how
                        # uint8 images become x: (v / 255 - 0.5) / 0.5

The ResNets are torchvision's layout and names (conv1, bn1, layer1.0.conv1, ..., fc); a 2D ResNet with
the standard stem loads into torchvision.models.resnet18(num_classes=K) as it is. VGG16's features.* are
torchvision's; its head is mednet's (global average pooling, dense layers, output). The plain CNN is
features = [Conv(3, pad 1, no bias), BatchNorm, ReLU] x convs_per_stage + MaxPool(2) per width, and
head = [global average pooling,] Flatten, [Linear, ReLU, Dropout] per hidden width, Linear.
Needs only numpy and torch.

    python3 mednet_torch.py model.safetensors --input x.npy [--out logits.npy]
"""
import argparse
import json
import struct
import sys

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "I8": np.int8, "U8": np.uint8}


def read_safetensors(path):
    """(name -> numpy array, metadata dict) of a .safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        tensors[name] = np.frombuffer(data[base + begin:base + end], dtype=dtype).reshape(info["shape"]).copy()
    return tensors, meta


def _conv(d, *args, **kwargs):
    return (nn.Conv2d if d == 2 else nn.Conv3d)(*args, **kwargs)


def _bn(d, c):
    return (nn.BatchNorm2d if d == 2 else nn.BatchNorm3d)(c)


def _dense_head(layers, inp, hidden, classes):
    for h in hidden:
        layers += [nn.Linear(inp, h), nn.ReLU(inplace=True), nn.Dropout()]
        inp = h
    layers.append(nn.Linear(inp, classes))
    return nn.Sequential(*layers)


class Cnn(nn.Module):
    def __init__(self, a):
        super().__init__()
        d = a["spatial_dims"]
        layers, inp, spatial = [], a["in_channels"], a["input_size"]
        for w in a["widths"]:
            for _ in range(a["convs_per_stage"]):
                layers += [_conv(d, inp, w, 3, padding=1, bias=False), _bn(d, w), nn.ReLU(inplace=True)]
                inp = w
            layers.append((nn.MaxPool2d if d == 2 else nn.MaxPool3d)(2))
            spatial //= 2
        self.features = nn.Sequential(*layers)
        head = []
        if a["global_pool"]:
            head.append((nn.AdaptiveAvgPool2d if d == 2 else nn.AdaptiveAvgPool3d)(1))
            flat = inp
        else:
            flat = inp * spatial ** d
        head.append(nn.Flatten())
        self.head = _dense_head(head, flat, a["hidden"], a["classes"])

    def forward(self, x):
        return self.head(self.features(x))


class Block(nn.Module):
    def __init__(self, d, bottleneck, inp, width, stride, skip):
        super().__init__()
        out = width * (4 if bottleneck else 1)
        plan = ([(inp, width, 1, 1, 0), (width, width, 3, stride, 1), (width, out, 1, 1, 0)] if bottleneck
                else [(inp, width, 3, stride, 1), (width, width, 3, 1, 1)])
        self.n = len(plan)
        for i, (ci, co, k, s, p) in enumerate(plan, 1):
            setattr(self, f"conv{i}", _conv(d, ci, co, k, stride=s, padding=p, bias=False))
            setattr(self, f"bn{i}", _bn(d, co))
        self.skip = skip
        self.downsample = None
        if skip and (stride != 1 or inp != out):
            self.downsample = nn.Sequential(_conv(d, inp, out, 1, stride=stride, bias=False), _bn(d, out))

    def forward(self, x):
        h = x
        for i in range(1, self.n + 1):
            h = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(h))
            if i < self.n:
                h = F.relu(h)
        if self.skip:
            h = h + (self.downsample(x) if self.downsample is not None else x)
        return F.relu(h)


class ResNet(nn.Module):
    """torchvision's ResNet in 2D or 3D; kind "plain" drops the shortcuts."""

    def __init__(self, a):
        super().__init__()
        d, w0 = a["spatial_dims"], a["widths"][0]
        bottleneck, skip = a["block"] == "bottleneck", a["kind"] == "resnet"
        if a["small_stem"]:
            self.conv1 = _conv(d, a["in_channels"], w0, 3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = _conv(d, a["in_channels"], w0, 7, stride=2, padding=3, bias=False)
            self.maxpool = (nn.MaxPool2d if d == 2 else nn.MaxPool3d)(3, stride=2, padding=1)
        self.bn1 = _bn(d, w0)
        inp = w0
        for s, (n, w) in enumerate(zip(a["layers"], a["widths"])):
            blocks = []
            for b in range(n):
                blocks.append(Block(d, bottleneck, inp, w, 2 if s > 0 and b == 0 else 1, skip))
                inp = w * (4 if bottleneck else 1)
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.stages = len(a["layers"])
        self.fc = nn.Linear(inp, a["classes"])

    def forward(self, x):
        h = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for s in range(1, self.stages + 1):
            h = getattr(self, f"layer{s}")(h)
        return self.fc(torch.flatten(h.mean(dim=tuple(range(2, h.dim()))), 1))


class Vgg16(nn.Module):
    CFG = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0]

    def __init__(self, a):
        super().__init__()
        layers, inp = [], 3
        for v in self.CFG:
            if v == 0:
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(inp, v, 3, padding=1), nn.ReLU(inplace=True)]
                inp = v
        self.features = nn.Sequential(*layers)
        self.head = _dense_head([], inp, a["hidden"], a["classes"])
        self.input_size, self.imagenet_norm = a["input_size"], a["imagenet_norm"]

    def forward(self, x):
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        s = self.input_size
        if s > 0 and tuple(x.shape[2:]) != (s, s):
            x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False)
        if self.imagenet_norm:
            mean = torch.tensor([0.485, 0.456, 0.406], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
            std = torch.tensor([0.229, 0.224, 0.225], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
            x = ((x + 1) * 0.5 - mean) / std
        return self.head(self.features(x).mean(dim=(2, 3)))


class Corn(nn.Module):
    """CORN (Shi et al. 2021): the network's K - 1 conditional logits l_k ("grade > k given > k - 1") to log
    class probabilities: P(> k) = prod_{i <= k} sigmoid(l_i), p_k = P(> k - 1) - P(> k). Its parameters keep
    the network's names."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def state_dict(self, *args, **kwargs):
        return self.net.state_dict(*args, **kwargs)

    def load_state_dict(self, state, strict=True):
        return self.net.load_state_dict(state, strict=strict)

    def forward(self, x):
        logits = self.net(x)
        cum = torch.cumprod(torch.sigmoid(logits), dim=1)
        probs = torch.cat([1 - cum[:, :1], cum[:, :-1] - cum[:, 1:], cum[:, -1:]], dim=1)
        return torch.log(probs)


def build(arch):
    """The network an exported file's "mednet.architecture" describes (random weights)."""
    if arch.get("head") == "corn":
        inner = dict(arch, classes=arch["classes"] - 1)
        del inner["head"]
        return Corn(build(inner))
    kind = arch["kind"]
    if kind == "cnn":
        return Cnn(arch)
    if kind in ("resnet", "plain"):
        return ResNet(arch)
    if kind == "vgg16":
        return Vgg16(arch)
    raise ValueError(f"unknown mednet network kind {kind!r}")


def load(path):
    """(model in eval mode with the file's weights, metadata) of a `mednet export` .safetensors file."""
    tensors, meta = read_safetensors(path)
    if "mednet.architecture" not in meta:
        raise ValueError(f"{path}: not written by mednet export (no mednet.architecture metadata)")
    model = build(json.loads(meta["mednet.architecture"]))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    return model.eval(), meta


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("weights")
    p.add_argument("--input", required=True, help=".npy float32 network input")
    p.add_argument("--out", help=".npy file for the logits (default: print them)")
    args = p.parse_args()
    model, _ = load(args.weights)
    with torch.no_grad():
        logits = model(torch.from_numpy(np.load(args.input).astype(np.float32))).numpy()
    if args.out:
        np.save(args.out, logits)
    else:
        np.savetxt(sys.stdout, logits, fmt="%.6f")


if __name__ == "__main__":
    main()
