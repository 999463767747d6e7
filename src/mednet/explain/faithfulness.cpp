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

namespace {

// The neighbours of a position and their weights: 2D the 8-neighbourhood (1/6 sideways, 1/12 diagonally,
// as the ROAD code), 3D the 6-neighbourhood (1/6 each).
struct Neighbour {
  std::vector<int64_t> offset;
  double weight;
};

std::vector<Neighbour> neighbourhood(int64_t dims) {
  std::vector<Neighbour> out;
  if (dims == 2) {
    for (int64_t a = -1; a <= 1; ++a)
      for (int64_t b = -1; b <= 1; ++b)
        if (a != 0 || b != 0) out.push_back({{a, b}, a != 0 && b != 0 ? 1.0 / 12 : 1.0 / 6});
    return out;
  }
  for (int64_t axis = 0; axis < 3; ++axis)
    for (int64_t d : {-1, 1}) {
      std::vector<int64_t> o(3, 0);
      o[static_cast<size_t>(axis)] = d;
      out.push_back({o, 1.0 / 6});
    }
  return out;
}

// sum_j w_j v(p + o_j) at every position p of v [B, 1, *s], zero outside the image: shifted views of one
// padded copy (cheaper than a convolution whose kernel is mostly zeros).
at::Tensor neighbour_sum(const at::Tensor& v, const std::vector<Neighbour>& hood) {
  const int64_t dims = v.dim() - 2;
  const at::Tensor padded =
      torch::constant_pad_nd(v, std::vector<int64_t>(static_cast<size_t>(2 * dims), 1), 0);
  at::Tensor out = torch::zeros_like(v);
  for (const auto& n : hood) {
    at::Tensor view = padded;
    for (int64_t d = 0; d < dims; ++d)
      view = view.narrow(2 + d, 1 + n.offset[static_cast<size_t>(d)], v.size(2 + d));
    out.add_(view, n.weight);
  }
  return out;
}

}  // namespace

at::Tensor noisy_linear_imputation(const at::Tensor& x, const at::Tensor& removed, double noise,
                                   uint64_t seed) {
  MN_CHECK(x.dim() == 4 || x.dim() == 5, "imputation: x must be [N, C, H, W] or [N, C, D, H, W]");
  MN_CHECK(removed.dim() == x.dim() - 1 && removed.size(0) == x.size(0),
           "imputation: removed must be [N, *s]");
  torch::NoGradGuard no_grad;
  const int64_t n = x.size(0), c = x.size(1);
  std::vector<int64_t> flat(x.sizes().begin(), x.sizes().end());
  flat[0] = n * c;
  flat[1] = 1;
  // One system per sample and channel: [N * C, 1, *s], in double on the CPU.
  const at::Tensor v = x.to(torch::kDouble).cpu().reshape(flat);
  at::Tensor mask = removed.to(torch::kDouble).cpu().unsqueeze(1);  // [N, 1, *s]
  std::vector<int64_t> rep(static_cast<size_t>(x.dim()), 1);
  rep[1] = c;
  mask = mask.repeat(rep).reshape(flat);  // [N * C, 1, *s]
  const std::vector<Neighbour> kernel = neighbourhood(x.dim() - 2);
  std::vector<int64_t> single(flat.begin(), flat.end());
  single[0] = 1;
  const at::Tensor weight_sum =
      neighbour_sum(torch::ones(single, torch::kDouble), kernel);  // inside the image
  // W y - (neighbours' weighted sum of y) = (known neighbours' weighted sum), on the removed positions.
  auto apply = [&](const at::Tensor& y) { return mask * (weight_sum * y - neighbour_sum(mask * y, kernel)); };
  const at::Tensor rhs = mask * neighbour_sum(v * (1 - mask), kernel);
  std::vector<int64_t> space;
  for (int64_t d = 1; d < v.dim(); ++d) space.push_back(d);
  auto dot = [&](const at::Tensor& a, const at::Tensor& b) { return (a * b).sum(space, /*keepdim=*/true); };
  at::Tensor y = torch::zeros_like(v), r = rhs.clone(), p = r.clone();
  at::Tensor rr = dot(r, r);
  const double tolerance = 1e-14 * std::max(1.0, dot(rhs, rhs).max().item<double>());  // residual 1e-7
  const int64_t limit = 20 * (mask.numel() / (n * c)) + 100;
  for (int64_t it = 0; it < limit && rr.max().item<double>() > tolerance; ++it) {
    const at::Tensor ap = apply(p);
    const at::Tensor pap = dot(p, ap);
    const at::Tensor alpha = torch::where(pap > 0, rr / pap.clamp_min(1e-300), torch::zeros_like(pap));
    y += alpha * p;
    r -= alpha * ap;
    const at::Tensor rr_next = dot(r, r);
    const at::Tensor beta = torch::where(rr > 0, rr_next / rr.clamp_min(1e-300), torch::zeros_like(rr));
    p = r + beta * p;
    rr = rr_next;
  }
  at::Tensor filled = v * (1 - mask) + mask * y;
  if (noise > 0) {
    at::Generator gen = at::detail::createCPUGenerator(seed);
    filled += mask * noise * torch::randn(filled.sizes(), gen, torch::dtype(torch::kDouble));
  }
  return filled.reshape(x.sizes()).to(x.options());
}

RoadScores road(models::ClassifierImpl& model, const at::Tensor& x, const at::Tensor& maps,
                const at::Tensor& target, const std::vector<double>& percents, double noise, uint64_t seed) {
  MN_CHECK(maps.dim() == x.dim() - 1 && maps.size(0) == x.size(0), "ROAD: maps must be [N, *spatial] of x");
  MN_CHECK(!percents.empty(), "ROAD: no shares");
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const int64_t n = x.size(0), positions = maps[0].numel();
  const at::Tensor tgt = target.to(torch::kLong).to(x.device()).view({-1, 1});
  auto prob = [&](const at::Tensor& input) {
    return torch::softmax(model.forward(input), 1).gather(1, tgt).squeeze(1).to(torch::kDouble).cpu();
  };
  const at::Tensor clean = prob(x);
  // Positions by relevance, ties in their own order: most relevant first, and least relevant first.
  const at::Tensor flat = maps.reshape({n, -1}).to(torch::kDouble).cpu();
  const at::Tensor most = std::get<1>(torch::sort(flat, /*stable=*/true, 1, /*descending=*/true));
  const at::Tensor least = std::get<1>(torch::sort(flat, /*stable=*/true, 1, /*descending=*/false));
  RoadScores s;
  at::Tensor combined = torch::zeros({n}, torch::kDouble);
  uint64_t draw = seed;
  for (double p : percents) {
    MN_CHECK(p > 0 && p < 1, "ROAD: shares must be in (0, 1), got ", p);
    const int64_t k = static_cast<int64_t>(std::llround(p * static_cast<double>(positions)));
    auto change = [&](const at::Tensor& order) {
      at::Tensor removed = torch::zeros({n, positions}, torch::kDouble);
      if (k > 0) removed.scatter_(1, order.narrow(1, 0, k), 1.0);
      const at::Tensor imputed =
          noisy_linear_imputation(x, removed.view(maps.sizes()).to(torch::kBool), noise, draw++);
      return prob(imputed.to(x.device())) - clean;
    };
    const at::Tensor morf = change(most), lerf = change(least);
    s.percents.push_back(p);
    s.morf.push_back(morf.mean().item<double>());
    s.lerf.push_back(lerf.mean().item<double>());
    combined += (lerf - morf) / 2 / static_cast<double>(percents.size());
  }
  s.combined = combined.mean().item<double>();
  s.sample_combined.assign(combined.data_ptr<double>(), combined.data_ptr<double>() + n);
  model.train(was_training);
  return s;
}

}  // namespace mednet::explain
