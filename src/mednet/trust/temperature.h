#pragma once
// Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks"): one temperature T
// divides the logits, fitted on the validation split by minimising the negative log-likelihood. The
// logits are recovered from the probabilities a run records (log p for softmax tasks, log p - log(1 - p)
// per label for multi-label), so softmax(log p / T) is softmax(logits / T). The predicted class never
// changes; binary and multi-label scores keep their order, so their AUC does not change either, while the
// one-vs-rest AUC of a multi-class task can (each class's probability is rescaled per image).
#include <ATen/core/Tensor.h>

#include "mednet/data/catalog.h"

namespace mednet::trust {

/// The temperatures searched: T in [kMinTemperature, kMaxTemperature].
inline constexpr double kMinTemperature = 0.01, kMaxTemperature = 100;

/// The T that minimises the mean NLL of the split (golden-section search on log T; the NLL is convex in 1 /
/// T).
double fit_temperature(data::Task task, const at::Tensor& labels, const at::Tensor& probs);

/// probs with their logits divided by T (T must be finite and > 0; an error names it otherwise).
at::Tensor apply_temperature(data::Task task, const at::Tensor& probs, double temperature);

}  // namespace mednet::trust
