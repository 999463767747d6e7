#!/usr/bin/env python3
"""Independent reference for the training losses of src/mednet/engine/train_loss and the CORN head of
src/mednet/models/ordinal_head, written from the papers and PyTorch's own functions:
- cross-entropy with class weights and label smoothing: torch.nn.functional.cross_entropy;
- "balanced" class weights: N / (K n_k), scikit-learn's compute_class_weight definition (NumPy);
- SORD (Diaz & Marathe 2019): q_j = softmax_j(-a |j - y|), loss = mean_i -sum_j q_ij log softmax(z_i)_j,
  and with class weights sum_i w_yi l_i / sum_i w_yi;
- distillation (Hinton et al. 2015): T^2 KL(p_teacher || softmax(z / T)), F.kl_div(..., 'batchmean');
- CORN (Shi et al. 2021), as coral-pytorch computes it: class probabilities from the running product of
  sigmoid(conditional logits), and corn_loss (sum over the tasks each row takes part in, divided by the
  number of (row, task) pairs).
Prints one JSON object.
Usage: ordinal_reference.py LOGITS.npy LABELS.npy TEACHER.npy CORN_LOGITS.npy SMOOTHING SORD_A TEMPERATURE"""
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F


def corn_probs(logits):
    cum = torch.cumprod(torch.sigmoid(logits), dim=1)
    first = 1 - cum[:, :1]
    middle = cum[:, :-1] - cum[:, 1:]
    return torch.cat([first, middle, cum[:, -1:]], dim=1)


def corn_loss(logits, y, classes):
    # coral_pytorch.losses.corn_loss, with the sum kept beside the published mean.
    total, pairs = 0.0, 0
    for task in range(classes - 1):
        rows = y > task - 1
        if rows.sum() == 0:
            continue
        target = (y[rows] > task).float()
        pred = logits[rows, task]
        total += -torch.sum(F.logsigmoid(pred) * target + (F.logsigmoid(pred) - pred) * (1 - target)).item()
        pairs += int(rows.sum())
    return total, total / pairs


def main():
    z = torch.from_numpy(np.load(sys.argv[1])).double()
    y = torch.from_numpy(np.load(sys.argv[2])).long().reshape(-1)
    teacher = torch.from_numpy(np.load(sys.argv[3])).double()
    corn_logits = torch.from_numpy(np.load(sys.argv[4])).double()
    smoothing, a, temperature = float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
    n, k = z.shape
    counts = np.bincount(y.numpy(), minlength=k)
    weights = n / (k * counts)
    w = torch.from_numpy(weights)
    grades = np.arange(k)[None, :]
    q = np.exp(-a * np.abs(grades - y.numpy()[:, None]))
    q = q / q.sum(1, keepdims=True)
    zn = z.numpy()
    log_softmax = zn - zn.max(1, keepdims=True)
    log_softmax = log_softmax - np.log(np.exp(log_softmax).sum(1, keepdims=True))
    sord_rows = -(q * log_softmax).sum(1)
    wy = weights[y.numpy()]
    kl = F.kl_div(F.log_softmax(z / temperature, 1), teacher, reduction="batchmean") * temperature**2
    corn_sum, corn_mean = corn_loss(corn_logits, y, k)
    out = {
        "weights": weights.tolist(),
        "ce": F.cross_entropy(z, y).item(),
        "ce_weighted_smoothed": F.cross_entropy(z, y, weight=w, label_smoothing=smoothing).item(),
        "sord": float(sord_rows.mean()),
        "sord_targets_row0": q[0].tolist(),
        "sord_weighted": float((sord_rows * wy).sum() / wy.sum()),
        "distill": kl.item(),
        "corn_probs": corn_probs(corn_logits).tolist(),
        "corn_loss_sum": corn_sum,
        "corn_loss": corn_mean,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
