"""Writes a randomly initialised torchvision VGG16 in both weight formats mednet reads, with the
pooled backbone output for a fixed input, for tests/models/vgg_test.cpp.

usage: torchvision_vgg16_reference.py OUT_DIR
  OUT_DIR/vgg16.pt           torch.save(state_dict) (zip format)
  OUT_DIR/vgg16.safetensors  the same tensors as safetensors (written by hand: no extra package)
  OUT_DIR/input.f32          float32 [2, 3, 32, 32]
  OUT_DIR/pooled.f32         float32 [2, 512]: features(input) averaged over space
"""
import json
import struct
import sys

import torch
import torchvision

out = sys.argv[1]
torch.manual_seed(1234)
model = torchvision.models.vgg16(weights=None).eval()
state = model.state_dict()
torch.save(state, f"{out}/vgg16.pt")

header, blobs, offset = {}, [], 0
for name, t in state.items():
    raw = t.detach().contiguous().float().numpy().tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
    blobs.append(raw)
    offset += len(raw)
text = json.dumps(header).encode()
with open(f"{out}/vgg16.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))

x = torch.rand(2, 3, 32, 32) * 2 - 1
with torch.no_grad():
    pooled = model.features(x).mean(dim=(2, 3))
x.numpy().tofile(f"{out}/input.f32")
pooled.numpy().tofile(f"{out}/pooled.f32")
print(f"torchvision {torchvision.__version__}: wrote {len(state)} tensors")
