#!/usr/bin/env python3
"""Explanation maps of a network exported by `mednet export --format safetensors`, rebuilt in PyTorch by
scripts/mednet_torch.py and computed from the papers' formulas, independently of mednet's C++.

Usage: cam_reference.py MODEL.safetensors X.npy TARGET.npy OUT_PREFIX [PATCH STRIDE]
  X: float32 network input [N, C, H, W] or [N, C, D, H, W]; TARGET: int64 [N] class per sample.
  The CAMs' feature map is the plain CNN's last stage before its max-pool (mednet's default layer).
  The input attributions use mednet's default settings: SmoothGrad 25 copies, noise 0.15 of the range,
  drawn in float32 from torch.Generator seeded 0, sample after sample; Integrated Gradients 32 midpoints;
  occlusion with a patch of PATCH (default a quarter of the side) moved by STRIDE (default half the patch),
  filled with the sample's mean.
Writes OUT_PREFIX.<method>.npy: the map after ReLU, upsampling to the input size (bilinear or
trilinear, align_corners=False; the input attributions need none) and per-sample scaling to [0, 1].
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import mednet_torch  # noqa: E402


def pool_index(model):
    mods = list(model.features)
    return max(i for i, m in enumerate(mods) if isinstance(m, (torch.nn.MaxPool2d, torch.nn.MaxPool3d)))


def tail(model, fmap):
    """The logits from the last stage's map on."""
    h = fmap
    for m in list(model.features)[pool_index(model):]:
        h = m(h)
    return model.head(h)


def features_and_logits(model, x):
    """The last stage's map before its pool (requires grad) and the logits."""
    h = x
    for m in list(model.features)[:pool_index(model)]:
        h = m(h)
    fmap = h.detach().requires_grad_(True)
    return fmap, tail(model, fmap)


def ablation_weights(model, a, target):
    """AblationCAM: (y - y_c) / y, y_c the target logit with channel c of the map set to zero."""
    t = torch.from_numpy(a)
    w = np.zeros(a.shape[:2])
    with torch.no_grad():
        for i in range(a.shape[0]):
            y = float(tail(model, t[i:i + 1])[0, int(target[i])])
            for c in range(a.shape[1]):
                ablated = t[i:i + 1].clone()
                ablated[0, c] = 0
                w[i, c] = (y - float(tail(model, ablated)[0, int(target[i])])) / (y if y != 0 else 1.0)
    return w


def input_gradient(model, batch, k):
    b = batch.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(b)[:, k].sum(), b)
    return g


def smoothgrad(model, x, target, copies=25, noise=0.15, seed=0):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(x.shape[0]):
        xi = x[i]
        sigma = noise * float(xi.max() - xi.min())
        eps = torch.randn((copies,) + tuple(xi.shape), generator=gen, dtype=torch.float32).double() * sigma
        g = input_gradient(model, xi.unsqueeze(0) + eps, int(target[i])).mean(0)
        out.append(g.abs().max(0)[0].numpy())
    return np.stack(out)


def box_blur(x, width):
    """Three box filters of the given width, borders averaging only the positions inside."""
    pool = F.avg_pool2d if x.dim() == 4 else F.avg_pool3d
    for _ in range(3):
        x = pool(x, width, stride=1, padding=width // 2, count_include_pad=False)
    return x


def integrated_gradients(model, x, target, baseline, steps=32):
    """Integrated Gradients: (x - x') times the gradient averaged over the midpoints of the path. The path
    is evaluated in one batch of the float32 model, as mednet does: on a ReLU network the integrand jumps
    where a unit crosses zero, and float64 moves those crossings enough to change a few positions."""
    model = model.float()
    out = []
    for i in range(x.shape[0]):
        xi = x[i].float()
        if baseline == "black":
            base = torch.full_like(xi, -1.0)  # intensity 0 as the network sees it: (0 - 0.5) / 0.5
        else:
            base = box_blur(xi.unsqueeze(0), 9 if x.shape[2] >= 56 else 5)[0]
        a = ((torch.arange(steps, dtype=torch.float32) + 0.5) / steps).view(-1, *([1] * xi.dim()))
        total = input_gradient(model, base.unsqueeze(0) + a * (xi - base).unsqueeze(0), int(target[i])).sum(0)
        out.append(((xi - base) * total / steps).sum(0).double().numpy())
    return np.stack(out)


def occlusion(model, x, target, patch=0, stride=0, batch=64):
    """Occlusion sensitivity: the drop of the target probability, averaged over the covering windows. The
    float32 model scores the windows in batches of 64 in mednet's order (the last axis fastest), since
    the drops are differences of nearby probabilities."""
    model = model.float()
    out = []
    side = min(x.shape[2:])
    patch = patch or max(1, side // 4)
    stride = stride or max(1, patch // 2)

    def starts(size):
        s = list(range(0, size - patch, stride))
        return s + [size - patch]

    grids = np.meshgrid(*[starts(n) for n in x.shape[2:]], indexing="ij")
    windows = np.stack([g.ravel() for g in grids], axis=1)
    with torch.no_grad():
        for i in range(x.shape[0]):
            xi, k = x[i].float(), int(target[i])
            p0 = float(torch.softmax(model(xi.unsqueeze(0)), 1)[0, k])
            drop = torch.zeros(xi.shape[1:], dtype=torch.float64)
            covered = torch.zeros_like(drop)
            for first in range(0, len(windows), batch):
                chunk = windows[first:first + batch]
                occluded = xi.unsqueeze(0).repeat(len(chunk), *([1] * xi.dim()))
                for j, w in enumerate(chunk):
                    occluded[(j, slice(None)) + tuple(slice(int(s), int(s) + patch) for s in w)] = xi.mean()
                p = torch.softmax(model(occluded), 1)[:, k]
                for j, w in enumerate(chunk):
                    region = tuple(slice(int(s), int(s) + patch) for s in w)
                    drop[region] += p0 - float(p[j])
                    covered[region] += 1
            out.append((drop / covered).numpy())
    return np.stack(out)


def eigen(a):
    """First principal direction of the positions (rows) x channels (columns), the mean removed; the
    sign that agrees with the channel sum."""
    out = []
    for s in a:
        c = s.shape[0]
        m = s.reshape(c, -1).T.astype(np.float64)
        m = m - m.mean(axis=0, keepdims=True)
        _, _, vt = np.linalg.svd(m, full_matrices=False)
        p = m @ vt[0]
        if np.sum(p * m.sum(axis=1)) < 0:
            p = -p
        out.append(p.reshape(s.shape[1:]))
    return np.stack(out)


def score_weights(model, x, a, target):
    """Score-CAM: each channel upsampled and scaled to [0, 1] masks the input; the softmax over channels
    of the target logit of the masked inputs."""
    t = torch.from_numpy(a)
    mode = "bilinear" if t.dim() == 4 else "trilinear"
    up = F.interpolate(t, size=tuple(x.shape[2:]), mode=mode, align_corners=False)
    flat = up.reshape(up.shape[0], up.shape[1], -1)
    lo, hi = flat.min(dim=2, keepdim=True)[0], flat.max(dim=2, keepdim=True)[0]
    masks = ((flat - lo) / (hi - lo + 1e-8)).reshape(up.shape)
    scores = torch.zeros(a.shape[0], a.shape[1], dtype=torch.float64)
    with torch.no_grad():
        for i in range(a.shape[0]):
            for c in range(a.shape[1]):
                scores[i, c] = model(x[i:i + 1] * masks[i, c:c + 1].unsqueeze(0))[0, int(target[i])]
    return torch.softmax(scores, dim=1).numpy()


def maps(a, g, score_w=None, ablation_w=None):
    """Each method's map before the ReLU, [N, *s], from A and dS/dA ([N, C, *s], numpy float64)."""
    sp = tuple(range(2, a.ndim))
    ex = (slice(None), slice(None)) + (None,) * (a.ndim - 2)
    out = {}
    w = g.mean(axis=sp)  # Grad-CAM: the gradient averaged over space
    out["gradcam"] = (w[ex] * a).sum(1)
    g2, g3 = g ** 2, g ** 3  # Grad-CAM++: alpha = g^2 / (2 g^2 + sum(A) g^3) on positive gradients
    denom = 2 * g2 + a.sum(axis=sp, keepdims=True) * g3
    alpha = g2 / np.where(denom != 0, denom, 1.0)
    out["gradcampp"] = ((alpha * np.maximum(g, 0)).sum(axis=sp)[ex] * a).sum(1)
    sa = a.sum(axis=sp)  # XGrad-CAM: sum(g A) / sum(A)
    out["xgradcam"] = (((g * a).sum(axis=sp) / np.where(sa != 0, sa, 1.0))[ex] * a).sum(1)
    out["hirescam"] = (g * a).sum(1)  # HiResCAM: element-wise
    out["gradcamelementwise"] = np.maximum(g * a, 0).sum(1)
    out["layercam"] = (np.maximum(g, 0) * a).sum(1)  # LayerCAM: positive gradients, element-wise
    out["eigencam"] = eigen(a)
    if score_w is not None:
        out["scorecam"] = (score_w[ex] * a).sum(1)
    if ablation_w is not None:
        out["ablationcam"] = (ablation_w[ex] * a).sum(1)
    return out


def finish(m, size):
    t = torch.from_numpy(np.maximum(m, 0)).unsqueeze(1)
    mode = "bilinear" if t.dim() == 4 else "trilinear"
    up = t.squeeze(1).numpy() if tuple(m.shape[1:]) == size else \
        F.interpolate(t, size=size, mode=mode, align_corners=False).squeeze(1).numpy()
    flat = up.reshape(up.shape[0], -1)
    lo, hi = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    rng = hi - lo
    scaled = np.where(rng > 1e-12, (flat - lo) / np.maximum(rng, 1e-12), 0.0)
    return scaled.reshape(up.shape)


def main():
    model_path, x_path, t_path, prefix = sys.argv[1:5]
    model, _ = mednet_torch.load(model_path)
    model = model.double()
    x = torch.from_numpy(np.load(x_path)).double()
    target = torch.from_numpy(np.load(t_path)).long()
    fmap, logits = features_and_logits(model, x)
    score = logits.gather(1, target.view(-1, 1)).sum()
    (grad,) = torch.autograd.grad(score, fmap)
    a, g = fmap.detach().numpy(), grad.numpy()
    computed = maps(a, g, score_weights(model, x, a, target), ablation_weights(model, a, target))
    computed["smoothgrad"] = smoothgrad(model, x, target)  # the float64 model: noise keeps it off the kinks
    computed["ig-black"] = integrated_gradients(model, x, target, "black")
    computed["ig-blur"] = integrated_gradients(model, x, target, "blur")
    patch, stride = (int(v) for v in sys.argv[5:7]) if len(sys.argv) > 6 else (0, 0)
    computed["occlusion"] = occlusion(model, x, target, patch, stride)
    for name, m in computed.items():
        np.save(f"{prefix}.{name}.npy", finish(m, tuple(x.shape[2:])).astype(np.float32))
    print("ok", " ".join(sorted(computed)))


if __name__ == "__main__":
    main()
