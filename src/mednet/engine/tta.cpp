#include "mednet/engine/tta.h"

#include <set>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/metrics/metrics.h"

namespace mednet::engine {

FlipSets tta_views(const std::string& mode, const std::vector<augment::TransformSpec>& augment) {
  MN_CHECK_USAGE(mode == "none" || mode == "flips", "--tta must be none or flips, got '", mode, "'");
  if (mode == "none") return {};
  std::set<int64_t> axes;
  for (const auto& t : augment)
    if (t.type == "flip")
      for (int a : t.axes) axes.insert(a + 2);
  MN_CHECK_USAGE(!axes.empty(),
                 "--tta flips averages over the flips the run trained with, and this run's augmentation "
                 "has no flip");
  FlipSets views{{}};
  for (int64_t dim : axes) {
    const size_t before = views.size();
    for (size_t i = 0; i < before; ++i) {
      std::vector<int64_t> v = views[i];
      v.push_back(dim);
      views.push_back(v);
    }
  }
  return views;
}

at::Tensor probs_as_logits(data::Task task, const at::Tensor& probs) {
  if (task == data::Task::MultiLabel) {
    const at::Tensor p = probs.clamp(1e-12, 1 - 1e-7);
    return torch::log(p / (1 - p));
  }
  return torch::log(probs.clamp_min(1e-12));
}

at::Tensor view_logits(const std::function<at::Tensor(const at::Tensor&)>& forward, const at::Tensor& x,
                       data::Task task, const FlipSets& views) {
  if (views.empty()) return forward(x);
  at::Tensor sum;
  for (const auto& dims : views) {
    const at::Tensor p =
        metrics::probabilities(task, forward(dims.empty() ? x : torch::flip(x, dims))).to(torch::kFloat);
    sum = sum.defined() ? sum + p : p;
  }
  return probs_as_logits(task, sum / static_cast<double>(views.size()));
}

}  // namespace mednet::engine
