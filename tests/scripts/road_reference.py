#!/usr/bin/env python3
"""ROAD's noisy linear imputation (Rong et al., ICML 2022) as a sparse linear system solved by SciPy, and the
ROAD combined score of given maps on a network rebuilt by scripts/mednet_torch.py, independently of mednet.

Usage: road_reference.py MODEL.safetensors X.npy MAPS.npy TARGET.npy OUT_PREFIX
  X: float32 [N, C, *s]; MAPS: [N, *s]; TARGET: int64 [N]. No noise (noise 0), shares 0.2 0.4 0.6 0.8.
Writes OUT_PREFIX.imputed.npy (X with the 40% most relevant positions of each map imputed) and
OUT_PREFIX.road.npy ([N] combined score: mean over shares of (LeRF change - MoRF change) / 2).
"""
import itertools
import os
import sys

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import mednet_torch  # noqa: E402


def neighbours(dims):
    """(offset, weight): 2D the 8-neighbourhood (1/6 sideways, 1/12 diagonally), 3D the 6-neighbourhood."""
    if dims == 2:
        return [((a, b), 1 / 12 if a and b else 1 / 6)
                for a, b in itertools.product((-1, 0, 1), repeat=2) if (a, b) != (0, 0)]
    out = []
    for axis in range(3):
        for d in (-1, 1):
            o = [0, 0, 0]
            o[axis] = d
            out.append((tuple(o), 1 / 6))
    return out


def impute(img, removed):
    """img [C, *s] float64, removed [*s] bool: each removed position the weighted mean of its neighbours
    inside the image: W_i x_i - sum_(j removed) w_ij x_j = sum_(k kept) w_ik x_k, solved by spsolve."""
    shape = np.array(removed.shape)
    unknown = np.argwhere(removed)
    out = img.copy()
    if not len(unknown):
        return out
    idx = -np.ones(removed.shape, dtype=np.int64)
    idx[tuple(unknown.T)] = np.arange(len(unknown))
    rows, cols, vals = [], [], []
    total = np.zeros(len(unknown))
    rhs = np.zeros((len(unknown), img.shape[0]))
    for off, w in neighbours(len(shape)):
        q = unknown + np.array(off)
        inside = np.all((q >= 0) & (q < shape), axis=1)
        i = np.nonzero(inside)[0]
        q = q[inside]
        total[i] += w
        j = idx[tuple(q.T)]
        free = j >= 0
        rows.append(i[free])
        cols.append(j[free])
        vals.append(np.full(free.sum(), -w))
        known = ~free
        rhs[i[known]] += w * img[(slice(None),) + tuple(q[known].T)].T
    n = len(unknown)
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(total)
    a = scipy.sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    for ch in range(img.shape[0]):
        out[(ch,) + tuple(unknown.T)] = scipy.sparse.linalg.spsolve(a, rhs[:, ch])
    return out


def removed_mask(m, share, most):
    flat = m.reshape(-1)
    order = np.argsort(-flat if most else flat, kind="stable")
    k = int(np.floor(share * flat.size + 0.5))
    r = np.zeros(flat.size, dtype=bool)
    r[order[:k]] = True
    return r.reshape(m.shape)


def main():
    model_path, x_path, maps_path, t_path, prefix = sys.argv[1:6]
    model, _ = mednet_torch.load(model_path)
    model = model.double().eval()
    x = np.load(x_path).astype(np.float64)
    maps = np.load(maps_path).astype(np.float64)
    target = np.load(t_path).astype(np.int64)

    def prob(batch):
        with torch.no_grad():
            p = torch.softmax(model(torch.from_numpy(batch)), 1).numpy()
        return p[np.arange(len(target)), target]

    clean = prob(x)
    shares = [0.2, 0.4, 0.6, 0.8]
    combined = np.zeros(len(target))
    for share in shares:
        changes = {}
        for most in (True, False):
            imputed = np.stack([impute(x[i], removed_mask(maps[i], share, most)) for i in range(len(x))])
            if most and share == 0.4:
                np.save(prefix + ".imputed.npy", imputed.astype(np.float32))
            changes[most] = prob(imputed) - clean
        combined += (changes[False] - changes[True]) / 2 / len(shares)
    np.save(prefix + ".road.npy", combined)
    print("ok", combined)


if __name__ == "__main__":
    main()
