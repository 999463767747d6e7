#include "mednet/metrics/scored_split.h"

#include <cmath>

#include <ATen/ATen.h>

#include "mednet/core/error.h"

namespace mednet::metrics {

ScoredSplit::ScoredSplit(data::Task t, const at::Tensor& labels_in, const at::Tensor& probs_in) : task(t) {
  at::Tensor p = probs_in.detach().to(at::kCPU).to(at::kDouble).contiguous();
  at::Tensor y = labels_in.detach().to(at::kCPU).to(at::kLong).contiguous();
  if (y.dim() == 1) y = y.unsqueeze(1);
  MN_CHECK(p.dim() == 2 && y.dim() == 2 && p.size(0) == y.size(0), "trust: labels ", y.sizes(),
           " do not fit probabilities ", p.sizes());
  n = p.size(0);
  k = p.size(1);
  label_cols = y.size(1);
  MN_CHECK(task == data::Task::MultiLabel ? label_cols == k : label_cols == 1, "trust: labels ", y.sizes(),
           " do not fit probabilities ", p.sizes(), " of this task");
  MN_CHECK(task == data::Task::MultiLabel || k >= 2, "trust: a ", k,
           "-column score table needs 2 classes or more");
  probs.assign(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
  labels.assign(y.data_ptr<int64_t>(), y.data_ptr<int64_t>() + y.numel());
  for (double v : probs) MN_CHECK(std::isfinite(v) && v >= 0 && v <= 1, "trust: a probability of ", v);
  const int64_t top = task == data::Task::MultiLabel ? 1 : k - 1;
  for (int64_t v : labels) MN_CHECK(v >= 0 && v <= top, "trust: label ", v, " outside 0..", top);
}

}  // namespace mednet::metrics
