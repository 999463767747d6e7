#pragma once
// A split's labels and probabilities as plain row-major doubles on the host, checked once, for the
// trust measures that loop over rows many times (bootstrap resamples, conformal scores, temperatures).
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/data/catalog.h"

namespace mednet::metrics {

struct ScoredSplit {
  /// labels [N] or [N, C] (C = 1, or the label count for multi-label), probs [N, K]; an error names a
  /// shape that does not fit the task, a label outside 0..K-1 or a probability outside [0, 1].
  ScoredSplit(data::Task task, const at::Tensor& labels, const at::Tensor& probs);
  data::Task task;
  int64_t n = 0, k = 0, label_cols = 1;
  std::vector<double> probs;
  std::vector<int64_t> labels;
  double p(int64_t i, int64_t c) const { return probs[static_cast<size_t>(i * k + c)]; }
  int64_t label(int64_t i, int64_t c) const { return labels[static_cast<size_t>(i * label_cols + c)]; }
};

}  // namespace mednet::metrics
