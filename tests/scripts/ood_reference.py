#!/usr/bin/env python3
"""Independent reference for src/mednet/trust/ood: the maximum softmax probability, the energy score,
the Mahalanobis score (class means and one shared covariance from training features, its pseudo-inverse),
the threshold that lets 95% of validation pass, and AUROC (SciPy's Mann-Whitney U) and FPR at 95% TPR,
written from the papers' definitions with NumPy and SciPy. Prints one JSON object.
Usage: ood_reference.py TASK DIR   (TASK: multiclass or multilabel; DIR holds train_f, train_y, val_z, val_f,
in_z, in_f, out_z, out_f as .npy)"""
import json
import math
import sys

import numpy as np
from scipy.special import logsumexp, softmax, expit
from scipy.stats import mannwhitneyu


def scores(task, z, f, means, precision):
    if task == "multilabel":
        p = expit(z)
        msp = np.maximum(p, 1 - p).mean(1)
        energy = np.logaddexp(0, z).sum(1)
    else:
        msp = softmax(z, axis=1).max(1)
        energy = logsumexp(z, axis=1)
    d = np.stack([np.einsum("nd,de,ne->n", f - m, precision, f - m) for m in means], 1)
    return {"msp": msp, "energy": energy, "mahalanobis": -d.min(1)}


def main():
    task, d = sys.argv[1], sys.argv[2]
    load = lambda n: np.load(f"{d}/{n}.npy").astype(np.float64)
    train_f, train_y = load("train_f"), np.load(f"{d}/train_y.npy").reshape(-1)
    if task == "multilabel":
        train_y = np.zeros(len(train_f), dtype=int)
    classes = [c for c in range(train_y.max() + 1) if (train_y == c).any()]
    means = np.stack([train_f[train_y == c].mean(0) for c in classes])
    centred = train_f - means[[classes.index(c) for c in train_y]]
    precision = np.linalg.pinv(centred.T @ centred / len(train_f), hermitian=True)
    val = scores(task, load("val_z"), load("val_f"), means, precision)
    inn = scores(task, load("in_z"), load("in_f"), means, precision)
    out = scores(task, load("out_z"), load("out_f"), means, precision)
    result = {}
    for name in ("msp", "energy", "mahalanobis"):
        v = np.sort(val[name])
        thr = v[int(math.floor(0.05 * len(v)))]
        t95 = np.sort(inn[name])[int(math.floor(0.05 * len(inn[name])))]
        u = mannwhitneyu(inn[name], out[name], alternative="two-sided").statistic
        result[name] = {"threshold": float(thr), "auroc": float(u / (len(inn[name]) * len(out[name]))),
                        "fpr95": float((out[name] >= t95).mean()), "in": inn[name][:5].tolist()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
