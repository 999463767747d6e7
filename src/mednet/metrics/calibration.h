#pragma once
// How well a model's probabilities match how often it is right: expected and maximum calibration error
// (15 equal-width bins), Brier score and negative log-likelihood, with percentile bootstrap intervals
// computed as AUC's are (metrics/bootstrap.h), and the bins of a reliability diagram.
//   multi-class and ordinal: the top-label confidence against whether the top label is the true one;
//   binary: the positive class's probability against the label;
//   multi-label: each label's probability against its value; ECE and MCE are the mean and the largest
//   over the labels.
// A confidence c falls in bin b when b / B < c <= (b + 1) / B (c = 0 in the first).
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/data/catalog.h"
#include "mednet/metrics/bootstrap.h"

namespace mednet::metrics {

inline constexpr int kCalibrationBins = 15;
/// Probabilities are clamped to [kMinProbability, 1] before their logarithm is taken.
inline constexpr double kMinProbability = 1e-12;

struct CalibrationScores {
  double ece = 0, mce = 0, brier = 0, nll = 0;
};

struct CalibrationIntervals {
  Interval ece, mce, brier, nll;
  int resamples = 0;
};

/// One bin of a reliability diagram: its range, how many confidences fell in it, their mean and the
/// fraction of them that were right (for binary and multi-label: positive).
struct ReliabilityBin {
  double lo = 0, hi = 0;
  int64_t count = 0;
  double confidence = 0, accuracy = 0;
};

/// labels [N] or [N, L] (long), probs [N, K] as the model gives them (softmax, or sigmoid for multi-label).
CalibrationScores calibration_scores(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                                     int bins = kCalibrationBins);

/// Percentile bootstrap intervals over the split's rows, the same resamples as AUC's for the same options.
CalibrationIntervals calibration_intervals(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                                           const BootstrapOptions& o = {}, int bins = kCalibrationBins);

/// The reliability diagram's bins (all labels pooled for multi-label).
std::vector<ReliabilityBin> reliability_bins(data::Task task, const at::Tensor& labels,
                                             const at::Tensor& probs, int bins = kCalibrationBins);

}  // namespace mednet::metrics
