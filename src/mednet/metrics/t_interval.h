#pragma once
// The mean of a few paired differences (one per seed) with its two-sided 95% Student-t interval.
#include <vector>

namespace mednet::metrics {

/// Student's t quantile at 0.975 for df degrees of freedom: the exact table to df 10, then the
/// Cornish-Fisher expansion to 1 / df^3 (within 2e-4 of the exact value from df 11). NaN for df 0.
double student_t_975(int df);

struct MeanInterval {
  double mean = 0;
  double low = 0, high = 0;  ///< NaN when there are fewer than two values
  bool excludes_zero() const;
};

/// The mean and mean -+ t_975(n - 1) s / sqrt(n) of the values (s: the sample standard deviation).
MeanInterval t_interval_95(const std::vector<double>& values);

}  // namespace mednet::metrics
