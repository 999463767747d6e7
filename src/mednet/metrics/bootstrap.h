#pragma once
// Honest uncertainty from per-sample predictions: seeded percentile bootstrap intervals of AUC and
// ACC (resampling the evaluated split with replacement), and the paired bootstrap of the difference
// between two arms scored on the same images with the same resamples.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/data/catalog.h"

namespace mednet::metrics {

struct Interval {
  double lo = std::nan(""), hi = std::nan("");
};

struct BootstrapOptions {
  int resamples = 1000;
  uint64_t seed = 0;
  double level = 0.95;  ///< central interval: percentiles (1 - level) / 2 and (1 + level) / 2
};

/// The q-quantile (0..1) of values with linear interpolation between order statistics (numpy's
/// default). NaN for an empty vector.
double quantile(std::vector<double> values, double q);

/// Resample row indices: `resamples` draws of n indices with replacement, the same for the same seed.
std::vector<std::vector<int64_t>> resample_indices(int64_t n, const BootstrapOptions& o);

struct ScoreIntervals {
  Interval auc, acc;
  int resamples = 0;
  /// Resamples left out of the AUC interval because some class was absent from them (AUC undefined).
  int undefined_auc = 0;
};

/// Percentile bootstrap intervals of the MedMNIST AUC and ACC of one model on one split.
ScoreIntervals bootstrap_scores(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                                const BootstrapOptions& o = {});

/// Arm a minus arm b, each the mean over its runs (seeds), scored on the same rows.
struct PairedDifference {
  double auc = std::nan(""), acc = std::nan("");  ///< on the whole split
  Interval auc_ci, acc_ci;
  int resamples = 0;
  int undefined_auc = 0;
  /// True when the interval holds 0: the split cannot tell the arms apart.
  bool auc_indistinguishable() const { return !(auc_ci.lo > 0 || auc_ci.hi < 0); }
  bool acc_indistinguishable() const { return !(acc_ci.lo > 0 || acc_ci.hi < 0); }
};

/// probs_a / probs_b: one [N, K] tensor per run of each arm, rows matching labels.
PairedDifference paired_bootstrap(data::Task task, const at::Tensor& labels,
                                  const std::vector<at::Tensor>& probs_a,
                                  const std::vector<at::Tensor>& probs_b, const BootstrapOptions& o = {});

/// "0.712 to 0.790" ("n/a" for an undefined end); signed: "-0.011 to +0.043".
std::string format_interval(const Interval& i, bool signed_values = false, int digits = 3);
/// "0.0679 (0.0482 to 0.1168)": a value with its interval; the value alone where an end is undefined.
std::string format_with_interval(double v, const Interval& i, int digits = 3);
/// "AUC 0.712 to 0.790, ACC 0.480 to 0.575".
std::string format_intervals(const ScoreIntervals& s);

}  // namespace mednet::metrics
