"""Generated data of a MedMNIST+ shape for bench/compare.sh's rows at 64^3, 128 and 224 px: random pictures
in the official .npz layout (uint8, N x S x S x 3 for colour, N x S x S x S for volumes, labels N x 1, every
class present), so both sides of a row read the same file and no download is needed.

usage: python3 bench/plus_data.py FLAG SIZE N_TRAIN N_VAL OUT_DIR    (writes OUT_DIR/FLAG_SIZE.npz)
"""
import os
import sys

import numpy as np

SHAPES = {  # flag: (classes, channels, volumes)
    "adrenalmnist3d": (2, 1, True),
    "retinamnist": (5, 3, False),
}

flag, size, n_train, n_val, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
if flag not in SHAPES:
    sys.exit(f"plus_data.py: no shape for {flag} (known: {', '.join(SHAPES)})")
classes, channels, volumes = SHAPES[flag]
rng = np.random.default_rng(0)
arrays = {}
for split, n in (("train", n_train), ("val", n_val), ("test", max(n_val // 2, classes))):
    shape = (n, size, size, size) if volumes else (n, size, size, channels) if channels == 3 else (n, size, size)
    arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
    arrays[f"{split}_labels"] = (np.arange(n) % classes).astype(np.uint8).reshape(n, 1)
os.makedirs(out, exist_ok=True)
np.savez(os.path.join(out, f"{flag}_{size}.npz"), **arrays)
