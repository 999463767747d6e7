#!/usr/bin/env python3
"""Independent reference for src/mednet/trust: calibration (ECE, MCE, Brier, NLL with 15 equal-width bins),
the temperature that minimises validation NLL (SciPy's bounded Brent search), and the split conformal
threshold (APS for multi-class, 1 - p for binary, per label for multi-label), written from the papers'
definitions with NumPy. Prints one JSON object.
Usage: trust_reference.py TASK LABELS.npy PROBS.npy COVERAGE   (TASK: multiclass, binary or multilabel)"""
import json
import math
import sys

import numpy as np
from scipy.optimize import minimize_scalar

EPS = 1e-12
BINS = 15


def bin_errors(conf, hit):
    idx = np.clip(np.ceil(conf * BINS).astype(int) - 1, 0, BINS - 1)
    ece, mce = 0.0, 0.0
    for b in range(BINS):
        m = idx == b
        if m.any():
            gap = abs(hit[m].mean() - conf[m].mean())
            ece += gap * m.sum() / len(conf)
            mce = max(mce, gap)
    return ece, mce


def calibration(task, y, p):
    if task == "multilabel":
        eces, mces = zip(*[bin_errors(p[:, l], y[:, l].astype(float)) for l in range(p.shape[1])])
        brier = np.mean((p - y) ** 2)
        nll = -np.mean(y * np.log(np.maximum(p, EPS)) + (1 - y) * np.log(np.maximum(1 - p, EPS)))
        return np.mean(eces), max(mces), brier, nll
    y = y[:, 0]
    if task == "binary":
        q = p[:, -1]
        t = (y == p.shape[1] - 1).astype(float)
        ece, mce = bin_errors(q, t)
        brier = np.mean((q - t) ** 2)
        nll = -np.mean(t * np.log(np.maximum(q, EPS)) + (1 - t) * np.log(np.maximum(1 - q, EPS)))
        return ece, mce, brier, nll
    top = p.argmax(1)
    ece, mce = bin_errors(p.max(1), (top == y).astype(float))
    onehot = np.eye(p.shape[1])[y]
    brier = np.mean(((p - onehot) ** 2).sum(1))
    nll = -np.mean(np.log(np.maximum(p[np.arange(len(y)), y], EPS)))
    return ece, mce, brier, nll


def scaled(task, p, t):
    p = np.clip(p, EPS, 1.0)
    if task == "multilabel":
        z = np.log(p) - np.log(np.maximum(1 - p, EPS))
        return 1 / (1 + np.exp(-z / t))
    z = np.log(p) / t
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def temperature(task, y, p):
    res = minimize_scalar(lambda u: calibration(task, y, scaled(task, p, math.exp(u)))[3],
                          bounds=(math.log(0.01), math.log(100)), method="bounded",
                          options={"xatol": 1e-11, "maxiter": 2000})
    return math.exp(res.x)


def threshold(scores, coverage):
    n = len(scores)
    rank = math.ceil((n + 1) * coverage)
    return 2.0 if rank > n else float(np.sort(scores)[rank - 1])


def conformal(task, y, p, coverage):
    if task == "multilabel":
        out = []
        for l in range(p.shape[1]):
            prob_true = np.where(y[:, l] == 1, p[:, l], 1 - p[:, l])
            out.append(threshold(1 - prob_true, coverage))
        return out
    y = y[:, 0]
    if task == "binary":
        return [threshold(1 - p[np.arange(len(y)), y], coverage)]
    py = p[np.arange(len(y)), y]
    aps = (p * (p > py[:, None])).sum(1) + py  # mass of the classes at least as probable as the true one
    return [threshold(aps, coverage)]


def main():
    task, labels, probs, coverage = sys.argv[1], np.load(sys.argv[2]), np.load(sys.argv[3]), float(sys.argv[4])
    y = labels.astype(np.int64).reshape(len(labels), -1)
    p = probs.astype(np.float64)
    ece, mce, brier, nll = calibration(task, y, p)
    t = temperature(task, y, p)
    print(json.dumps({"ece": ece, "mce": mce, "brier": brier, "nll": nll, "temperature": t,
                      "thresholds": conformal(task, y, scaled(task, p, t), coverage)}))


if __name__ == "__main__":
    main()
