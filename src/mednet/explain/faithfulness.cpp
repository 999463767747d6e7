#include "mednet/explain/faithfulness.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "mednet/core/error.h"

namespace mednet::explain {

namespace {

// Average ranks (1-based) of a 1-D double tensor, ties sharing their mean rank.
at::Tensor average_ranks(const at::Tensor& v) {
  const int64_t n = v.numel();
  const at::Tensor order = v.argsort();
  const auto o = order.accessor<int64_t, 1>();
  const auto x = v.accessor<double, 1>();
  at::Tensor ranks = torch::empty({n}, torch::kDouble);
  auto r = ranks.accessor<double, 1>();
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j + 1 < n && x[o[j + 1]] == x[o[i]]) ++j;
    const double mean_rank = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (int64_t k = i; k <= j; ++k) r[o[k]] = mean_rank;
    i = j + 1;
  }
  return ranks;
}

}  // namespace

double spearman(const at::Tensor& a, const at::Tensor& b) {
  MN_CHECK(a.numel() == b.numel() && a.numel() > 1, "spearman: need two tensors of the same size > 1");
  const at::Tensor ra = average_ranks(a.reshape({-1}).to(torch::kDouble).cpu().contiguous());
  const at::Tensor rb = average_ranks(b.reshape({-1}).to(torch::kDouble).cpu().contiguous());
  const at::Tensor da = ra - ra.mean(), db = rb - rb.mean();
  const double denom = std::sqrt((da * da).sum().item<double>() * (db * db).sum().item<double>());
  if (denom == 0) return std::nan("");
  return (da * db).sum().item<double>() / denom;
}

std::vector<double> rank_correlation_per_sample(const at::Tensor& a, const at::Tensor& b) {
  MN_CHECK(a.sizes() == b.sizes(), "rank correlation: the two batches of maps differ in shape");
  std::vector<double> out;
  for (int64_t i = 0; i < a.size(0); ++i) out.push_back(spearman(a[i], b[i]));
  return out;
}

DeletionCurve deletion_curve(models::ClassifierImpl& model, const at::Tensor& x, const at::Tensor& maps,
                             const at::Tensor& target, const std::vector<double>& fractions, uint64_t seed,
                             const at::Tensor& baseline) {
  MN_CHECK(maps.dim() == x.dim() - 1 && maps.size(0) == x.size(0),
           "deletion: maps must be [N, *spatial] of x");
  MN_CHECK(!fractions.empty(), "deletion: no fractions");
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const int64_t n = x.size(0);
  const int64_t positions = maps[0].numel();
  std::vector<int64_t> reduce;
  for (int64_t k = 1; k < x.dim(); ++k) reduce.push_back(k);
  const at::Tensor fill = baseline.defined() ? baseline.to(x.device()).expand_as(x)
                                             : x.mean(reduce, /*keepdim=*/true).expand_as(x);
  // Positions in deletion order per sample: by the map (highest first) and at random.
  const at::Tensor by_map = maps.reshape({n, -1}).argsort(1, /*descending=*/true).to(x.device());
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const at::Tensor random = torch::rand({n, positions}, gen).argsort(1, /*descending=*/false).to(x.device());
  const at::Tensor tgt = target.to(torch::kLong).to(x.device()).view({-1, 1});

  auto score = [&](const at::Tensor& order, int64_t k) {
    at::Tensor keep = torch::ones({n, positions}, x.options());
    if (k > 0) keep.scatter_(1, order.narrow(1, 0, k), 0);
    std::vector<int64_t> shape(maps.sizes().begin(), maps.sizes().end());
    shape.insert(shape.begin() + 1, 1);  // broadcast over channels
    const at::Tensor m = keep.view(shape);
    const at::Tensor masked = x * m + fill * (1 - m);
    return torch::softmax(model.forward(masked), 1).gather(1, tgt).mean().item<double>();
  };
  DeletionCurve c;
  for (double f : fractions) {
    MN_CHECK(f >= 0 && f <= 1, "deletion: fractions must be in [0, 1], got ", f);
    const int64_t k = static_cast<int64_t>(std::llround(f * static_cast<double>(positions)));
    c.fractions.push_back(f);
    c.by_map.push_back(score(by_map, k));
    c.random.push_back(score(random, k));
  }
  for (size_t i = 1; i < c.fractions.size(); ++i) {
    const double w = c.fractions[i] - c.fractions[i - 1];
    c.area_by_map += w * (c.by_map[i] + c.by_map[i - 1]) / 2;
    c.area_random += w * (c.random[i] + c.random[i - 1]) / 2;
  }
  model.train(was_training);
  return c;
}

at::Tensor blurred(const at::Tensor& x, int64_t width) {
  MN_CHECK(width >= 1 && width % 2 == 1, "blur width must be odd, got ", width);
  MN_CHECK(x.dim() == 4 || x.dim() == 5, "blur: x must be [N, C, H, W] or [N, C, D, H, W]");
  torch::NoGradGuard no_grad;
  at::Tensor h = x;
  for (int pass = 0; pass < 3; ++pass) {
    if (x.dim() == 4) {
      h = torch::avg_pool2d(h, {width, width}, {1, 1}, {width / 2, width / 2}, false,
                            /*count_include_pad=*/false);
    } else {
      h = torch::avg_pool3d(h, {width, width, width}, {1, 1, 1}, {width / 2, width / 2, width / 2}, false,
                            /*count_include_pad=*/false);
    }
  }
  return h;
}

}  // namespace mednet::explain
