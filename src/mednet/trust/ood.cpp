#include "mednet/trust/ood.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/data/dataset.h"

namespace mednet::trust {

void check_ood_score(const std::string& name) {
  for (const char* s : kOodScores)
    if (name == s) return;
  throw Error("unknown out-of-distribution score '" + name + "'; valid: msp, energy, mahalanobis",
              ErrorKind::Usage);
}

OodFeatures ood_features(models::ClassifierImpl& model, const at::Tensor& images_u8,
                         const c10::Device& device, int batch_size) {
  MN_CHECK(batch_size >= 1, "batch size must be >= 1, got ", batch_size);
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> logits, features;
  for (int64_t start = 0; start < images_u8.size(0); start += batch_size) {
    const int64_t len = std::min<int64_t>(batch_size, images_u8.size(0) - start);
    const auto [map, z] =
        model.forward_features(data::to_network_input(core::upload(images_u8.narrow(0, start, len), device)));
    std::vector<int64_t> space;
    for (int64_t d = 2; d < map.dim(); ++d) space.push_back(d);
    features.push_back(map.mean(space).to(at::kCPU).to(at::kDouble));
    logits.push_back(z.to(at::kCPU).to(at::kDouble));
  }
  model.train(was_training);
  OodFeatures f;
  if (logits.empty()) return f;
  f.logits = at::cat(logits);
  f.features = at::cat(features);
  MN_CHECK(at::isfinite(f.logits).all().item<bool>() && at::isfinite(f.features).all().item<bool>(),
           "the model gave non-finite logits or features (NaN weights or inputs)");
  return f;
}

MahalanobisFit fit_mahalanobis(data::Task task, const at::Tensor& features, const at::Tensor& labels) {
  MN_CHECK(features.dim() == 2 && features.size(0) > 1, "Mahalanobis fit: features must be [N > 1, D], got ",
           features.sizes());
  const at::Tensor f = features.to(at::kDouble);
  // Each image's class (one class for multi-label).
  const at::Tensor y =
      task == data::Task::MultiLabel ? at::zeros({f.size(0)}, at::kLong) : labels.reshape({-1}).to(at::kLong);
  MN_CHECK(y.size(0) == f.size(0), "Mahalanobis fit: ", y.size(0), " labels for ", f.size(0), " features");
  std::vector<at::Tensor> means;
  at::Tensor centred = at::empty_like(f);
  const int64_t classes = y.max().item<int64_t>() + 1;
  for (int64_t c = 0; c < classes; ++c) {
    const at::Tensor rows = y.eq(c).nonzero().reshape({-1});
    if (rows.size(0) == 0) continue;
    const at::Tensor mu = f.index_select(0, rows).mean(0);
    means.push_back(mu);
    centred.index_copy_(0, rows, f.index_select(0, rows) - mu);
  }
  const at::Tensor cov = centred.t().mm(centred) / static_cast<double>(f.size(0));
  return {at::stack(means), at::linalg_pinv(cov, 1e-10, /*hermitian=*/true)};
}

at::Tensor ood_score(data::Task task, const std::string& name, const OodFeatures& f,
                     const MahalanobisFit& fit) {
  check_ood_score(name);
  const at::Tensor z = f.logits.to(at::kDouble);
  const bool multi_label = task == data::Task::MultiLabel;
  if (name == "msp") {
    if (!multi_label) return at::softmax(z, 1).amax(1);
    const at::Tensor p = at::sigmoid(z);
    return at::maximum(p, 1 - p).mean(1);
  }
  if (name == "energy") return multi_label ? at::softplus(z).sum(1) : at::logsumexp(z, 1);
  MN_CHECK(fit.means.defined() && fit.precision.defined(), "the Mahalanobis score needs a fit");
  const at::Tensor x = f.features.to(at::kDouble);
  MN_CHECK(x.dim() == 2 && x.size(1) == fit.means.size(1), "features of width ", x.size(-1),
           " for a Mahalanobis fit of width ", fit.means.size(1));
  at::Tensor best;
  for (int64_t c = 0; c < fit.means.size(0); ++c) {
    const at::Tensor d = x - fit.means[c];
    const at::Tensor m = (d.mm(fit.precision) * d).sum(1);
    best = best.defined() ? at::minimum(best, m) : m;
  }
  return -best;
}

double pass_threshold(const at::Tensor& scores, double pass_rate) {
  MN_CHECK(scores.numel() > 0, "a threshold needs at least one score");
  MN_CHECK(pass_rate > 0 && pass_rate <= 1, "a pass rate must be in (0, 1], got ", pass_rate);
  const at::Tensor sorted = std::get<0>(scores.reshape({-1}).to(at::kDouble).sort());
  const auto rank = static_cast<int64_t>(std::floor((1 - pass_rate) * static_cast<double>(sorted.size(0))));
  return sorted[std::min<int64_t>(rank, sorted.size(0) - 1)].item<double>();
}

Separation separation(const at::Tensor& in_scores, const at::Tensor& out_scores) {
  MN_CHECK(in_scores.numel() > 0 && out_scores.numel() > 0, "separation needs scores on both sides");
  const at::Tensor in = in_scores.reshape({-1}).to(at::kDouble),
                   out = out_scores.reshape({-1}).to(at::kDouble);
  // Mann-Whitney: the share of (in, out) pairs ordered right, ties counting half, by average ranks.
  const int64_t n_in = in.size(0), n_out = out.size(0);
  const at::Tensor all = at::cat({in, out});
  const auto [sorted, order] = all.sort();
  const auto* v = sorted.data_ptr<double>();
  const auto* idx = order.data_ptr<int64_t>();
  double rank_sum_in = 0;
  for (int64_t i = 0; i < all.size(0);) {
    int64_t j = i;
    while (j + 1 < all.size(0) && v[j + 1] == v[i]) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;  // 1-based average
    for (int64_t k = i; k <= j; ++k)
      if (idx[k] < n_in) rank_sum_in += rank;
    i = j + 1;
  }
  Separation s;
  const double u = rank_sum_in - static_cast<double>(n_in) * static_cast<double>(n_in + 1) / 2;
  s.auroc = u / (static_cast<double>(n_in) * static_cast<double>(n_out));
  s.fpr95 = out.ge(pass_threshold(in)).to(at::kDouble).mean().item<double>();
  return s;
}

}  // namespace mednet::trust
