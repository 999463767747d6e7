#!/usr/bin/env python3
"""Class activation maps of a network exported by `mednet export --format safetensors`, rebuilt in
PyTorch by scripts/mednet_torch.py and computed from the papers' formulas, independently of mednet's C++.

Usage: cam_reference.py MODEL.safetensors X.npy TARGET.npy OUT_PREFIX
  X: float32 network input [N, C, H, W] or [N, C, D, H, W]; TARGET: int64 [N] class per sample.
  The feature map is the plain CNN's last stage before its max-pool (mednet's default layer).
Writes OUT_PREFIX.<method>.npy: the map after ReLU, upsampling to the input size (bilinear or
trilinear, align_corners=False) and per-sample scaling to [0, 1], for every method below.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import mednet_torch  # noqa: E402


def features_and_logits(model, x):
    """The last stage's map before its pool (requires grad) and the logits."""
    mods = list(model.features)
    pool_at = max(i for i, m in enumerate(mods) if isinstance(m, (torch.nn.MaxPool2d, torch.nn.MaxPool3d)))
    h = x
    for m in mods[:pool_at]:
        h = m(h)
    fmap = h.detach().requires_grad_(True)
    h = fmap
    for m in mods[pool_at:]:
        h = m(h)
    return fmap, model.head(h)


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


def maps(a, g, score_w=None):
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
    return out


def finish(m, size):
    t = torch.from_numpy(np.maximum(m, 0)).unsqueeze(1)
    mode = "bilinear" if t.dim() == 4 else "trilinear"
    up = F.interpolate(t, size=size, mode=mode, align_corners=False).squeeze(1).numpy()
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
    computed = maps(a, g, score_weights(model, x, a, target))
    for name, m in computed.items():
        np.save(f"{prefix}.{name}.npy", finish(m, tuple(x.shape[2:])).astype(np.float32))
    print("ok", " ".join(sorted(computed)))


if __name__ == "__main__":
    main()
