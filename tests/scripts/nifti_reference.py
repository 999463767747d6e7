#!/usr/bin/env python3
"""nibabel's side of the NIfTI round-trip tests (Debian's python3-nibabel).

  write PATH  an int16 volume of shape (x=7, y=6, z=5) holding x + 10 y + 100 z, scl_slope 2,
              scl_inter -10, and the affine below (sform code 2, qform code 1), as .nii or .nii.gz
  write4d PATH  the same with two time points
  read PATH   prints JSON: shape (x, y, z), affine, the float value at (x, y, z) = (1, 2, 3), the sum
"""
import json
import sys

import nibabel as nib
import numpy as np

AFFINE = np.array([[0.0, -1.5, 0.0, 10.0], [2.0, 0.0, 0.0, -20.0], [0.0, 0.0, 2.5, 30.0], [0, 0, 0, 1]])


def volume():
    x, y, z = np.meshgrid(np.arange(7), np.arange(6), np.arange(5), indexing="ij")
    return (x + 10 * y + 100 * z).astype(np.int16)


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd in ("write", "write4d"):
        data = volume()
        if cmd == "write4d":
            data = np.stack([data, data], axis=-1)
        img = nib.Nifti1Image(data, AFFINE)
        img.header.set_slope_inter(2.0, -10.0)
        img.set_sform(AFFINE, code=2)
        img.set_qform(AFFINE, code=1)
        nib.save(img, path)
        return 0
    img = nib.load(path)
    a = np.asarray(img.get_fdata(dtype=np.float64))
    print(json.dumps({"shape": list(a.shape), "affine": img.affine.tolist(), "v123": float(a[1, 2, 3]),
                      "sum": float(a.sum()), "descrip": img.header["descrip"].tobytes().split(b"\0")[0].decode()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
