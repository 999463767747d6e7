#!/usr/bin/env python3
"""TorchIO's CT/MRI artifacts written apart from mednet with NumPy and SciPy, from the definitions in
torchio/transforms/augmentation/intensity/random_*.py (Noise, Blur, BiasField, Ghosting, Motion, Spike,
Gamma) and the anisotropy of RandomAnisotropy, for mednet's artifact test. Lengths are in voxels.

Usage: artifacts_reference.py VOLUME.npy CASES.json OUT_DIR
VOLUME.npy: float64 [C, D, H, W] in [0, 1]. CASES.json: a list of {"kind", "params", "drawn", "seed"}
(params: the severity's parameters at this side; drawn: the random values mednet drew, in its record
order). Case i goes to OUT_DIR/case<i>.npy as float64 [C, D, H, W], before any rounding."""
import json
import sys

import numpy as np
import torch
from scipy import ndimage
from scipy.spatial.transform import Rotation


def kspace(x):
    return np.fft.fftshift(np.fft.fftn(x))


def image(k):
    return np.fft.ifftn(np.fft.ifftshift(k)).real


def bias_field(shape, order, coefficients):
    shape = np.array(shape)
    ranges = [np.arange(-n, n) + 0.5 for n in shape / 2]
    meshes = np.asarray(np.meshgrid(*ranges))
    for mesh in meshes:
        top = mesh.max()
        if top > 0:
            mesh /= top
    x, y, z = meshes
    field = np.zeros(shape)
    i = 0
    for a in range(order + 1):
        for b in range(order + 1 - a):
            for c in range(order + 1 - (a + b)):
                field += np.transpose(coefficients[i] * x ** a * y ** b * z ** c, (1, 0, 2))
                i += 1
    return np.exp(field).astype(np.float32)


def ghosting(x, num_ghosts, axis, intensity):
    k = kspace(x)
    n = k.shape[axis]
    mid = n // 2
    centre = [slice(None)] * 3
    centre[axis] = slice(mid, mid + 1)
    keep = k[tuple(centre)].copy()
    planes = [slice(None)] * 3
    planes[axis] = slice(None, None, num_ghosts)
    k[tuple(planes)] *= 1 - intensity
    k[tuple(centre)] = keep
    return image(k)


def spike(x, positions, intensity):
    k = kspace(x)
    for index in np.floor(np.asarray(positions) * np.array(k.shape)).astype(int):
        k[tuple(index)] += k.max() * intensity  # NumPy orders complex values by real, then imaginary part
    return image(k)


def moved(x, degrees, translation):
    n = np.array(x.shape)
    centre = n / 2.0
    r = Rotation.from_euler("ZXY", [degrees[2], degrees[0], degrees[1]], degrees=True).as_matrix()
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in n], indexing="ij")).reshape(3, -1).astype(np.float64)
    coords = r @ (grid - centre[:, None]) + centre[:, None] + np.asarray(translation)[:, None]
    out = ndimage.map_coordinates(x, coords, order=1, mode="constant", cval=x.min())
    return out.reshape(x.shape)


def motion(x, axis, motions):
    spectra = [kspace(x)] + [kspace(moved(x, m["degrees"], m["translation"])) for m in motions]
    times = np.array([m["time"] for m in motions])
    index = np.where(times > 0.5)[0].min() if np.any(times > 0.5) else len(spectra) - 1
    spectra[0], spectra[index] = spectra[index], spectra[0]
    out = np.empty_like(spectra[0])
    n = x.shape[axis]
    ends = (n * times).astype(int).tolist() + [n]
    start = 0
    for spectrum, end in zip(spectra, ends):
        s = [slice(None)] * 3
        s[axis] = slice(start, end)
        out[tuple(s)] = spectrum[tuple(s)]
        start = end
    return image(out)


def anisotropy(x, axis, factor):
    moved_axis = np.moveaxis(x, axis, -1)
    n = moved_axis.shape[-1]
    coarse_n = int(np.floor((n - 1) / factor)) + 1
    rows = moved_axis.reshape(-1, n)
    out = np.empty_like(rows)
    for r, row in enumerate(rows):
        coarse = ndimage.map_coordinates(row, [np.arange(coarse_n) * factor], order=1, mode="nearest")
        out[r] = ndimage.map_coordinates(coarse, [np.arange(n) / factor], order=1, mode="nearest")
    return np.moveaxis(out.reshape(moved_axis.shape), -1, axis)


def apply(kind, p, drawn, seed, x):
    if kind == "volume_noise":
        g = torch.Generator().manual_seed(seed)
        return x + torch.randn(x.shape, generator=g, dtype=torch.float64).numpy() * p[0]
    if kind == "volume_blur":
        return np.stack([ndimage.gaussian_filter(c, p[0], mode="reflect", truncate=4.0) for c in x])
    if kind == "volume_bias_field":
        return x * bias_field(x.shape[1:], 3, drawn)
    if kind == "volume_ghosting":
        return np.stack([ghosting(c, int(p[0]), int(drawn[0]), p[1]) for c in x])
    if kind == "volume_spike":
        positions = np.asarray(drawn).reshape(-1, 3)
        return np.stack([spike(c, positions, p[1]) for c in x])
    if kind == "volume_motion":
        axis = int(drawn[0])
        rest = np.asarray(drawn[1:]).reshape(-1, 7)
        motions = [{"degrees": m[0:3], "translation": m[3:6], "time": m[6]} for m in rest]
        return np.stack([motion(c, axis, motions) for c in x])
    if kind == "volume_anisotropy":
        return np.stack([anisotropy(c, int(drawn[0]), p[0]) for c in x])
    if kind == "volume_gamma":
        return np.clip(x, 0, None) ** drawn[0]
    raise SystemExit("unknown kind " + kind)


def main():
    volume = np.load(sys.argv[1]).astype(np.float64)
    cases = json.load(open(sys.argv[2]))
    for i, case in enumerate(cases):
        out = apply(case["kind"], case["params"], case.get("drawn", []), case.get("seed", 0), volume)
        np.save(f"{sys.argv[3]}/case{i}.npy", np.asarray(out, dtype=np.float64))
    print(json.dumps({"cases": len(cases)}))


if __name__ == "__main__":
    main()
