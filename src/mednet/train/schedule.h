#pragma once
#include <string>

namespace mednet::train {

/// Learning rate for a 0-based epoch: "step" multiplies by 0.1 at 50% and 75% of the epochs (the
/// MedMNIST baselines' MultiStepLR), "cosine" anneals to 0 (Loshchilov & Hutter 2017), "constant" keeps it.
double lr_at(const std::string& schedule, double base_lr, int epoch, int total_epochs);

}  // namespace mednet::train
