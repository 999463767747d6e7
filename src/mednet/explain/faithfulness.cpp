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

namespace {

PixelCurve pixel_curve(models::ClassifierImpl& model, const at::Tensor& x, const at::Tensor& maps,
                       const at::Tensor& target, const std::vector<double>& fractions, uint64_t seed,
                       const at::Tensor& baseline, bool insert) {
  const char* what = insert ? "insertion" : "deletion";
  MN_CHECK(maps.dim() == x.dim() - 1 && maps.size(0) == x.size(0), what, ": maps must be [N, *spatial] of x");
  MN_CHECK(!fractions.empty(), what, ": no fractions");
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const int64_t n = x.size(0);
  const int64_t positions = maps[0].numel();
  std::vector<int64_t> reduce;
  for (int64_t k = 1; k < x.dim(); ++k) reduce.push_back(k);
  const at::Tensor fill = baseline.defined() ? baseline.to(x.device()).expand_as(x)
                                             : x.mean(reduce, /*keepdim=*/true).expand_as(x);
  // Positions in order per sample: by the map (highest first) and at random.
  const at::Tensor by_map = maps.reshape({n, -1}).argsort(1, /*descending=*/true).to(x.device());
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const at::Tensor random = torch::rand({n, positions}, gen).argsort(1, /*descending=*/false).to(x.device());
  const at::Tensor tgt = target.to(torch::kLong).to(x.device()).view({-1, 1});

  // Each sample's target probability with the first k positions of `order` blanked (or restored).
  auto score = [&](const at::Tensor& order, int64_t k) {
    at::Tensor keep = torch::full({n, positions}, insert ? 0.0 : 1.0, x.options());
    if (k > 0) keep.scatter_(1, order.narrow(1, 0, k), insert ? 1.0 : 0.0);
    std::vector<int64_t> shape(maps.sizes().begin(), maps.sizes().end());
    shape.insert(shape.begin() + 1, 1);  // broadcast over channels
    const at::Tensor m = keep.view(shape);
    const at::Tensor masked = x * m + fill * (1 - m);
    return torch::softmax(model.forward(masked), 1).gather(1, tgt).squeeze(1).to(torch::kDouble).cpu();
  };
  PixelCurve c;
  std::vector<at::Tensor> per_map, per_random;  // [N] per fraction
  for (double f : fractions) {
    MN_CHECK(f >= 0 && f <= 1, what, ": fractions must be in [0, 1], got ", f);
    const int64_t k = static_cast<int64_t>(std::llround(f * static_cast<double>(positions)));
    c.fractions.push_back(f);
    per_map.push_back(score(by_map, k));
    per_random.push_back(score(random, k));
    c.by_map.push_back(per_map.back().mean().item<double>());
    c.random.push_back(per_random.back().mean().item<double>());
  }
  at::Tensor a_map = torch::zeros({n}, torch::kDouble), a_random = torch::zeros({n}, torch::kDouble);
  for (size_t i = 1; i < c.fractions.size(); ++i) {
    const double w = c.fractions[i] - c.fractions[i - 1];
    a_map += w * (per_map[i] + per_map[i - 1]) / 2;
    a_random += w * (per_random[i] + per_random[i - 1]) / 2;
  }
  c.area_by_map = a_map.mean().item<double>();
  c.area_random = a_random.mean().item<double>();
  c.sample_area_by_map.assign(a_map.data_ptr<double>(), a_map.data_ptr<double>() + n);
  c.sample_area_random.assign(a_random.data_ptr<double>(), a_random.data_ptr<double>() + n);
  model.train(was_training);
  return c;
}

}  // namespace

PixelCurve deletion_curve(models::ClassifierImpl& model, const at::Tensor& x, const at::Tensor& maps,
                          const at::Tensor& target, const std::vector<double>& fractions, uint64_t seed,
                          const at::Tensor& baseline) {
  return pixel_curve(model, x, maps, target, fractions, seed, baseline, /*insert=*/false);
}

PixelCurve insertion_curve(models::ClassifierImpl& model, const at::Tensor& x, const at::Tensor& maps,
                           const at::Tensor& target, const std::vector<double>& fractions, uint64_t seed,
                           const at::Tensor& baseline) {
  MN_CHECK(baseline.defined(), "insertion: a baseline is needed");
  return pixel_curve(model, x, maps, target, fractions, seed, baseline, /*insert=*/true);
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

int64_t blur_width(const at::Tensor& x) {
  return x.size(2) >= 56 ? 9 : 5;
}

}  // namespace mednet::explain
