#pragma once
#include <cstdint>
#include <string>

namespace mednet::train {

/// Learning rate for a 0-based epoch: "step" multiplies by 0.1 at 50% and 75% of the epochs (the
/// MedMNIST baselines' MultiStepLR), "cosine" anneals to 0 (Loshchilov & Hutter 2017), "constant" keeps it.
/// With warm-up, epoch e < warmup_epochs gets base_lr (e + 1) / warmup_epochs, and the schedule then runs
/// over the remaining epochs as if they were the whole run.
double lr_at(const std::string& schedule, double base_lr, int epoch, int total_epochs, int warmup_epochs = 0);

/// Per-epoch seeds: the shuffle, dropout and augmentation of epoch e depend only on (seed, e), so a
/// resumed run replays exactly what an uninterrupted one would have done.
uint64_t epoch_seed(uint64_t seed, int epoch);

}  // namespace mednet::train
