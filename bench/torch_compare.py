"""PyTorch's side of bench/compare.sh: repeats what bench_compare measured for mednet, in PyTorch Python on
the same machine, from the protocol.json and model.safetensors it wrote: the same network (rebuilt by
scripts/mednet_torch.py), data, batch size, optimizer, learning rates, frozen blocks and augmentation, the
split resident on the device, the loss read once per epoch, train and validation AUC every epoch.

usage: python3 bench/torch_compare.py ARM_DIR/protocol.json    (prints one JSON line)
"""
import contextlib
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import mednet_torch  # noqa: E402

proto_path = sys.argv[1]
P = json.load(open(proto_path))
dev = torch.device(P["device"])
torch.set_num_threads(P["threads"])
torch.manual_seed(0)
if dev.type == "cuda":
    torch.backends.cudnn.benchmark = True

model, _ = mednet_torch.load(os.path.join(os.path.dirname(proto_path), "model.safetensors"))
model = model.to(dev).train()

d = np.load(P["data_file"])


def split(name):
    x = torch.from_numpy(d[f"{name}_images"])
    if P["volumetric"] or x.dim() == 3:
        x = x.unsqueeze(1)
    else:
        x = x.permute(0, 3, 1, 2)
    return x.contiguous().to(dev), torch.from_numpy(d[f"{name}_labels"][:, 0].astype(np.int64)).to(dev)


(xt, yt), (xv, yv) = split("train"), split("val")

# Frozen blocks as mednet freezes them (VGG16: blocks 1-k are features[0:BOUNDS[k]]).
BOUNDS = [0, 5, 10, 17, 24, 31]
groups = [{"params": [p for p in model.parameters()], "lr": P["lr"]}]
if P["freeze_blocks"] > 0:
    cut = BOUNDS[P["freeze_blocks"]]
    for i, layer in enumerate(model.features):
        for p in layer.parameters():
            p.requires_grad_(i >= cut)
    backbone = [p for p in model.features.parameters() if p.requires_grad]
    groups = [{"params": list(model.head.parameters()), "lr": P["lr"]},
              {"params": backbone, "lr": P["lr"] * P["backbone_lr_scale"]}]
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
assert trainable == P["trainable_params"], (trainable, P["trainable_params"])
opt = torch.optim.Adam(groups)
precision = P.get("precision", "fp32")
autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
scaler = torch.cuda.amp.GradScaler() if precision == "fp16" else None


def amp():
    return torch.autocast(dev.type, dtype=autocast_dtype) if autocast_dtype else contextlib.nullcontext()


def augment(x, specs):
    """mednet's transforms, drawn per sample on the device: one affine warp, then contrast and brightness."""
    n = x.shape[0]
    A = torch.eye(3, device=dev).repeat(n, 1, 1)
    add = torch.zeros(n, device=dev)
    mul = torch.ones(n, device=dev)

    def u(lo, hi):
        return lo + (hi - lo) * torch.rand(n, device=dev)

    def fires(p):
        return torch.rand(n, device=dev) < p

    for t in specs:
        if t["type"] == "flip":
            for a in t["axes"]:
                m = torch.eye(3, device=dev).repeat(n, 1, 1)
                m[:, 1 - a, 1 - a] = torch.where(fires(t["p"]), -1.0, 1.0)
                A = A @ m
        elif t["type"] == "rotate":
            ang = torch.where(fires(t["p"]), u(-t["degrees"], t["degrees"]) * math.pi / 180, torch.zeros(n, device=dev))
            c, s = torch.cos(ang), torch.sin(ang)
            m = torch.eye(3, device=dev).repeat(n, 1, 1)
            m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
            A = A @ m
        elif t["type"] == "scale":
            sc = torch.where(fires(t["p"]), u(t["min"], t["max"]), torch.ones(n, device=dev))
            m = torch.eye(3, device=dev).repeat(n, 1, 1)
            m[:, 0, 0], m[:, 1, 1] = 1 / sc, 1 / sc
            A = A @ m
        elif t["type"] == "translate":
            f = fires(t["p"])
            m = torch.eye(3, device=dev).repeat(n, 1, 1)
            for k in range(2):
                m[:, k, 2] = torch.where(f, -u(-t["fraction"], t["fraction"]) * 2, torch.zeros(n, device=dev))
            A = m @ A
        elif t["type"] == "brightness":
            add = add + torch.where(fires(t["p"]), u(-t["delta"], t["delta"]), torch.zeros(n, device=dev))
        elif t["type"] == "contrast":
            mul = mul * torch.where(fires(t["p"]), u(1 - t["delta"], 1 + t["delta"]), torch.ones(n, device=dev))
        else:
            raise ValueError(f"transform {t['type']} not repeated here")
    grid = F.affine_grid(A[:, :2, :], list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * mul.view(-1, 1, 1, 1) + mean + add.view(-1, 1, 1, 1)).clamp(0, 1)


def auc_acc(probs, y):
    """MedMNIST's AUC (binary: of class 1; multi-class: mean one-vs-rest) and ACC, with tied scores averaged."""
    probs, y = probs.cpu().numpy(), y.cpu().numpy()

    def auc(pos, s):
        _, inv, counts = np.unique(s, return_inverse=True, return_counts=True)
        ranks = (np.cumsum(counts) - (counts - 1) / 2)[inv]
        n1 = pos.sum()
        n0 = len(pos) - n1
        return (ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0) if n1 and n0 else float("nan")

    k = probs.shape[1]
    a = auc(y == 1, probs[:, 1]) if k == 2 else np.nanmean([auc(y == c, probs[:, c]) for c in range(k)])
    return a, float((probs.argmax(1) == y).mean())


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def predict(x, bs):
    out = []
    with torch.no_grad(), amp():
        for s in range(0, x.shape[0], bs):
            out.append(torch.softmax(model(x[s:s + bs].float() * (2 / 255) - 1).float(), 1))
    return torch.cat(out)


bs, n = P["batch_size"], xt.shape[0]
train_s, epoch_s = [], []
t_run = time.perf_counter()
for epoch in range(P["epochs"]):
    sync()
    t0 = time.perf_counter()
    model.train()
    perm = torch.randperm(n, device=dev)
    loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
    probs = []
    for s in range(0, n, bs):
        idx = perm[s:s + bs]
        if P["augment"]:
            x = augment(xt[idx].float() / 255, P["augment"]) * 2 - 1
        else:
            x = xt[idx].float() * (2 / 255) - 1
        y = yt[idx]
        opt.zero_grad(set_to_none=True)
        with amp():
            logits = model(x)
            loss = F.cross_entropy(logits, y)
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        loss_sum += loss.detach().double() * idx.shape[0]
        probs.append(torch.softmax(logits.detach().float(), 1))
    train_auc = auc_acc(torch.cat(probs), yt[perm])
    train_loss = loss_sum.item() / n
    sync()
    train_s.append(time.perf_counter() - t0)
    model.eval()
    val = auc_acc(predict(xv, P["eval_batch_size"]), yv)
    epoch_s.append(time.perf_counter() - t0)
run_s = time.perf_counter() - t_run

model.eval()
reps = 5
predict(xt, 256)
sync()
t0 = time.perf_counter()
for _ in range(reps):
    predict(xt, 256).cpu()
sync()
infer = n * reps / (time.perf_counter() - t0)


def steady(v):
    v = sorted(v[1:] if len(v) > 1 else v)
    return v[len(v) // 2]


print(json.dumps({
    "train_samples_per_s": n / steady(train_s),
    "epoch_s": steady(epoch_s),
    "run_s": run_s,
    "infer_samples_per_s": infer,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "train_s_per_epoch": train_s,
    "epoch_s_per_epoch": epoch_s,
    "torch": torch.__version__,
}))
