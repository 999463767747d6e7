#include "mednet/augment/mix.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <torch/torch.h>

#include "mednet/core/error.h"

namespace mednet::augment {

namespace {
double beta_sample(double alpha, std::mt19937_64& rng) {
  std::gamma_distribution<double> g(alpha, 1.0);
  const double a = g(rng), b = g(rng);
  return a + b > 0 ? a / (a + b) : 0.5;
}
}  // namespace

MixedBatch mix(const MixSpec& spec, const at::Tensor& images, uint64_t seed) {
  MixedBatch out;
  out.images = images;
  if (!spec.active()) return out;
  MN_CHECK(images.dim() >= 3, "mixing needs a batch [N, C, *spatial], got ", images.sizes());
  const int64_t n = images.size(0);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  const bool use_cutmix =
      spec.cutmix > 0 && (spec.mixup <= 0 || std::uniform_real_distribution<double>(0, 1)(rng) < 0.5);
  const double lam = beta_sample(use_cutmix ? spec.cutmix : spec.mixup, rng);
  out.partner = torch::from_blob(order.data(), {n}, torch::kLong).clone().to(images.device());
  out.cutmix = use_cutmix;
  const at::Tensor other = images.index_select(0, out.partner);
  if (!use_cutmix) {
    out.lam = lam;
    out.images = images * lam + other * (1 - lam);
    return out;
  }
  // A box with (1 - lam) of the volume, each side (1 - lam)^(1/dims) of the image's, centred anywhere and
  // cut at the border; lam is then the share actually kept.
  const int64_t dims = images.dim() - 2;
  const double side = std::pow(1 - lam, 1.0 / static_cast<double>(dims));
  at::Tensor mixed = images.clone();
  at::Tensor box = mixed, patch = other;
  int64_t kept_total = 1, box_total = 1;
  for (int64_t d = 0; d < dims; ++d) {
    const int64_t len = images.size(d + 2);
    const auto cut = static_cast<int64_t>(std::llround(side * static_cast<double>(len)));
    const int64_t centre = std::uniform_int_distribution<int64_t>(0, len - 1)(rng);
    const int64_t lo = std::clamp<int64_t>(centre - cut / 2, 0, len);
    const int64_t hi = std::clamp<int64_t>(centre + cut - cut / 2, 0, len);
    box = box.narrow(d + 2, lo, hi - lo);
    patch = patch.narrow(d + 2, lo, hi - lo);
    kept_total *= len;
    box_total *= hi - lo;
  }
  if (box_total > 0) box.copy_(patch);
  out.lam = 1 - static_cast<double>(box_total) / static_cast<double>(kept_total);
  out.images = mixed;
  return out;
}

}  // namespace mednet::augment
