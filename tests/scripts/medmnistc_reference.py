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
from PIL import Image, ImageDraw, ImageEnhance
from scipy.ndimage import zoom as scizoom
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


def rgb2hsv(arr):
    """scikit-image's rgb2hsv on float64 [H, W, 3] (its published formulas; later maxima win)."""
    out = np.empty_like(arr)
    v = arr.max(-1)
    delta = arr.max(-1) - arr.min(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = delta / v
        s[delta == 0.0] = 0.0
        h = np.zeros_like(v)
        idx = arr[..., 0] == v
        h[idx] = (arr[idx, 1] - arr[idx, 2]) / delta[idx]
        idx = arr[..., 1] == v
        h[idx] = 2.0 + (arr[idx, 2] - arr[idx, 0]) / delta[idx]
        idx = arr[..., 2] == v
        h[idx] = 4.0 + (arr[idx, 0] - arr[idx, 1]) / delta[idx]
    h = (h / 6.0) % 1.0
    h[delta == 0.0] = 0.0
    out[..., 0], out[..., 1], out[..., 2] = h, s, v
    return out


def hsv2rgb(arr):
    hi = np.floor(arr[..., 0] * 6)
    f = arr[..., 0] * 6 - hi
    p = arr[..., 2] * (1 - arr[..., 1])
    q = arr[..., 2] * (1 - f * arr[..., 1])
    t = arr[..., 2] * (1 - (1 - f) * arr[..., 1])
    v = arr[..., 2]
    hi = np.stack([hi, hi, hi], axis=-1).astype(np.uint8) % 6
    return np.choose(hi, np.stack([np.stack((v, t, p), axis=-1), np.stack((q, v, p), axis=-1),
                                   np.stack((p, v, t), axis=-1), np.stack((p, q, v), axis=-1),
                                   np.stack((t, p, v), axis=-1), np.stack((v, p, q), axis=-1)]))


def clipped_zoom(img, zoom_factor):
    h = img.shape[0]
    ch = int(np.ceil(h / zoom_factor))
    top = (h - ch) // 2
    img = scizoom(img[top:top + ch, top:top + ch], (zoom_factor, zoom_factor, 1), order=1)
    trim_top = (img.shape[0] - h) // 2
    return img[trim_top:trim_top + h, trim_top:trim_top + h]


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
    if kind == "saturate":
        if c != 3:
            return chw.copy()
        x = rgb2hsv(chw.transpose(1, 2, 0) / 255.0)
        x[:, :, 1] = np.clip(x[:, :, 1] + p[0], 0, 1)
        return (np.clip(hsv2rgb(x), 0, 1) * 255).astype(np.uint8).transpose(2, 0, 1)
    if kind == "zoom_blur":
        x = (chw.transpose(1, 2, 0) / 255.0).astype(np.float32)
        factors = np.arange(p[0], p[1], p[2])
        out = np.zeros_like(x)
        for z in factors:
            out += clipped_zoom(x, z)
        x = (x + out) / (len(factors) + 1)
        return (np.clip(x, 0, 1) * 255).astype(np.uint8).transpose(2, 0, 1)
    if kind == "black_corner":
        x = chw.transpose(1, 2, 0).copy()
        width, height = w, h
        center = (width // 2, height // 2)
        radius = min(center[0], center[1], width - center[0], height - center[1])
        circle = np.zeros((height, width), np.uint8)
        cv2.circle(circle, center, int(radius * p[0]), (255), thickness=-1)
        x[~(circle == 255)] = 0
        return x.transpose(2, 0, 1)
    if kind == "bubble":
        # params: the border, then radius, x, y of each bubble (drawn by the caller)
        border = int(p[0])
        output_image = img.copy()
        bubbles_image = Image.new("RGBA", output_image.size, (255, 255, 255, 0))
        draw = ImageDraw.Draw(bubbles_image)
        for k in range(1, len(p), 3):
            radius, x, y = int(p[k]), int(p[k + 1]), int(p[k + 2])
            alpha = 100
            draw.ellipse((x - radius - border, y - radius - border, x + radius + border, y + radius + border),
                         fill=(255, 255, 255, alpha + 30))
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 255, 255, alpha))
        output_image.paste(bubbles_image, (0, 0), bubbles_image)
        return to_chw(output_image)
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
