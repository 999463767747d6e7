#!/usr/bin/env python3
"""Checks files written by `mednet export` against mednet's own logits on the same input.

  --safetensors F: rebuilt in PyTorch by scripts/mednet_torch.py (independent of mednet's code)
  --torchvision NAME: the same file loaded by name into torchvision's model (a 2D standard-stem ResNet)
  --onnx F: onnx.checker (full check, with shape inference), then OpenCV's dnn runtime
Prints one JSON line: the largest |difference| / largest |mednet logit| per check, or the runtime's
error. Exits 1 when a check exceeds --tol, or when OpenCV fails and --opencv-optional is not given.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))


def rel(a, ref):
    return float(np.max(np.abs(a - ref)) / max(np.max(np.abs(ref)), 1e-12))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--input", required=True)
    p.add_argument("--logits", required=True)
    p.add_argument("--safetensors")
    p.add_argument("--onnx")
    p.add_argument("--torchvision", help="also load the .safetensors into this torchvision model (resnet18)")
    p.add_argument("--opencv-optional", action="store_true")
    p.add_argument("--tol", type=float, default=1e-4)
    a = p.parse_args()
    x = np.load(a.input).astype(np.float32)
    ref = np.load(a.logits).astype(np.float64)
    out, ok = {}, True
    if a.safetensors:
        import torch
        import mednet_torch
        model, _ = mednet_torch.load(a.safetensors)
        with torch.no_grad():
            out["torch"] = rel(model(torch.from_numpy(x)).double().numpy(), ref)
        ok &= out["torch"] <= a.tol
        if a.torchvision:
            import torchvision
            tensors, _ = mednet_torch.read_safetensors(a.safetensors)
            tv = getattr(torchvision.models, a.torchvision)(num_classes=ref.shape[1])
            tv.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
            with torch.no_grad():
                out["torchvision"] = rel(tv.eval()(torch.from_numpy(x)).double().numpy(), ref)
            ok &= out["torchvision"] <= a.tol
    if a.onnx:
        import onnx
        m = onnx.load(a.onnx)
        onnx.checker.check_model(m, full_check=True)
        out["checker"] = "ok"
        out["opset"] = m.opset_import[0].version
        import cv2
        try:
            net = cv2.dnn.readNetFromONNX(a.onnx)
            net.setInput(x)
            out["opencv"] = rel(net.forward().astype(np.float64), ref)
            ok &= out["opencv"] <= a.tol
        except cv2.error as e:
            out["opencv_error"] = " ".join(str(e).split())[:400]
            ok &= a.opencv_optional
    print(json.dumps(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
