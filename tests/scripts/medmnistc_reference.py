#!/usr/bin/env python3
"""MedMNIST-C's 2D corruptions computed with the libraries MedMNIST-C calls (PIL, OpenCV, ImageMagick
through Wand, torchvision), written apart from mednet from the definitions in medmnistc-api
(medmnistc/corruptions/*.py), for mednet's corruption test.

Usage: medmnistc_reference.py IMAGES.npy CASES.json OUT_DIR
IMAGES.npy: uint8 [N, C, H, W] (C = 1 or 3). CASES.json: a list of {"kind", "params", "seed"}; case i is
written to OUT_DIR/case<i>.npy as uint8 [N, C, H, W]. Picture n of a random case draws from a torch
generator seeded with seed + n (noise [C, H, W] in float64; motion blur's angle is given in params)."""
import json
import sys
from io import BytesIO

import cv2
import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image, ImageEnhance
from wand.api import library as wandlibrary
from wand.image import Image as WandImage


def to_pil(chw):
    return Image.fromarray(chw[0]) if chw.shape[0] == 1 else Image.fromarray(chw.transpose(1, 2, 0))


def to_chw(a):
    a = np.asarray(a)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)



def disk(radius, alias_blur):
    grid = np.arange(-8, 8 + 1) if radius <= 8 else np.arange(-radius, radius + 1)
    ksize = (3, 3) if radius <= 8 else (5, 5)
    x, y = np.meshgrid(grid, grid)
    d = np.array((x ** 2 + y ** 2) <= radius ** 2, dtype=np.float32)
    d /= np.sum(d)
    return cv2.GaussianBlur(d, ksize=ksize, sigmaX=alias_blur)


def apply(kind, p, chw, seed):
    img = to_pil(chw)
    c, h, w = chw.shape
    if kind == "pixelate":
        small = img.resize((int(w * p[0]), int(h * p[0])), Image.BOX)
        return to_chw(small.resize((w, h), Image.BOX))
    if kind == "jpeg":
        buf = BytesIO()
        img.save(buf, "JPEG", quality=int(p[0]))
        return to_chw(Image.open(buf))
    if kind in ("gaussian_noise", "speckle_noise", "impulse_noise", "shot_noise"):
        g = torch.Generator().manual_seed(seed)
        x = chw.astype(np.float64) / 255.0
        if kind == "gaussian_noise":
            out = x + torch.randn(chw.shape, generator=g, dtype=torch.float64).numpy() * p[0]
        elif kind == "speckle_noise":
            out = x + x * (torch.randn(chw.shape, generator=g, dtype=torch.float64).numpy() * p[0])
        elif kind == "impulse_noise":
            flipped = torch.rand(chw.shape, generator=g, dtype=torch.float64).numpy() < p[0]
            salted = torch.rand(chw.shape, generator=g, dtype=torch.float64).numpy() < 0.5
            out = x.copy()
            out[flipped & salted] = 1
            out[flipped & ~salted] = 0
        else:
            out = torch.poisson(torch.from_numpy(x * p[0]), generator=g).numpy() / p[0]
        return (np.clip(out, 0, 1) * 255).astype(np.uint8)
    if kind == "defocus_blur":
        k = disk(p[0], p[1])
        x = chw.astype(np.float64) / 255.0
        out = np.stack([cv2.filter2D(x[d], -1, k) for d in range(c)])
        return (np.clip(out, 0, 1) * 255).astype(np.uint8)
    if kind == "motion_blur":
        buf = BytesIO()
        img.save(buf, format="PNG")
        with WandImage(blob=buf.getvalue()) as wi:
            wandlibrary.MagickMotionBlurImage(wi.wand, p[0], p[1], p[2])
            out = cv2.imdecode(np.frombuffer(wi.make_blob(), np.uint8), cv2.IMREAD_UNCHANGED)
        return out[None] if out.ndim == 2 else out[..., [2, 1, 0]].transpose(2, 0, 1)
    if kind == "gaussian_blur":
        return to_chw(TF.gaussian_blur(img, kernel_size=int(p[0]), sigma=p[1]))
    if kind == "brightness":
        return to_chw(ImageEnhance.Brightness(img).enhance(p[0]))
    if kind == "contrast":
        return to_chw(ImageEnhance.Contrast(img).enhance(p[0]))
    if kind == "gamma":
        return to_chw(TF.adjust_gamma(img, p[0], gain=1))
    raise SystemExit("unknown kind " + kind)


def main():
    images = np.load(sys.argv[1])
    cases = json.load(open(sys.argv[2]))
    for i, case in enumerate(cases):
        out = np.stack([apply(case["kind"], case["params"], images[n], case.get("seed", 0) + n)
                        for n in range(images.shape[0])])
        np.save(f"{sys.argv[3]}/case{i}.npy", out.astype(np.uint8))
    print(json.dumps({"cases": len(cases)}))


if __name__ == "__main__":
    main()
