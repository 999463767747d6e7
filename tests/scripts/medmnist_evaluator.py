"""Scores a standard result file the way the medmnist package's Evaluator.parse_and_evaluate does
(name parsing, rows sorted by index, getAUC / getACC with scikit-learn), for cross-checking mednet.
The medmnist package itself is not packaged for Debian; its evaluator is small and restated here.
Usage: medmnist_evaluator.py RESULT.csv ROOT   -> prints "AUC <auc> ACC <acc>" with 12 decimals."""
import json
import os
import sys

import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score

TASKS = {"retinamnist": "ordinal-regression", "adrenalmnist3d": "binary-class", "pathmnist": "multi-class",
         "chestmnist": "multi-label, binary-class", "breastmnist": "binary-class", "vesselmnist3d": "binary-class"}


def parse(filename):
    flag, split_, *_ = filename.split("_")
    size = None
    for s in ("train", "val", "test"):
        if split_.startswith(s):
            return flag, None, s
    flag, size, split_, *_ = filename.split("_")
    for s in ("train", "val", "test"):
        if split_.startswith(s):
            return flag, int(size), s
    raise ValueError(filename)


def get_auc(y_true, y_score, task):
    y_true, y_score = y_true.squeeze(), y_score.squeeze()
    if task == "multi-label, binary-class":
        return sum(roc_auc_score(y_true[:, i], y_score[:, i]) for i in range(y_score.shape[1])) / y_score.shape[1]
    if task == "binary-class":
        if y_score.ndim == 2:
            y_score = y_score[:, -1]
        return roc_auc_score(y_true, y_score)
    return sum(roc_auc_score((y_true == i).astype(float), y_score[:, i]) for i in range(y_score.shape[1])) / y_score.shape[1]


def get_acc(y_true, y_score, task, threshold=0.5):
    y_true, y_score = y_true.squeeze(), y_score.squeeze()
    if task == "multi-label, binary-class":
        y_pre = y_score > threshold
        return sum(accuracy_score(y_true[:, i], y_pre[:, i]) for i in range(y_true.shape[1])) / y_true.shape[1]
    if task == "binary-class":
        if y_score.ndim == 2:
            y_score = y_score[:, -1]
        return accuracy_score(y_true, y_score > threshold)
    return accuracy_score(y_true, np.argmax(y_score, axis=-1))


def main():
    path, root = sys.argv[1], sys.argv[2]
    flag, size, split = parse(os.path.basename(path))
    size_flag = "" if size in (None, 28) else f"_{size}"
    labels = np.load(os.path.join(root, f"{flag}{size_flag}.npz"))[f"{split}_labels"]
    raw = np.loadtxt(path, delimiter=",", ndmin=2)
    y_score = raw[np.argsort(raw[:, 0], kind="stable")][:, 1:]
    task = TASKS[flag]
    print(json.dumps({"auc": get_auc(labels, y_score, task), "acc": get_acc(labels, y_score, task)}))


if __name__ == "__main__":
    main()
