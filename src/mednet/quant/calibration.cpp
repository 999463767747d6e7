#include "mednet/quant/calibration.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "mednet/core/error.h"

namespace mednet::quant {

std::pair<at::Tensor, at::Tensor> fold_batch_norm(const at::Tensor& weight, const at::Tensor& bias,
                                                  const at::Tensor& running_mean,
                                                  const at::Tensor& running_var, const at::Tensor& gamma,
                                                  const at::Tensor& beta, double eps) {
  MN_CHECK(weight.dim() >= 3, "fold_batch_norm: weight must be a convolution's [out, in, ...]");
  const int64_t out = weight.size(0);
  MN_CHECK(running_mean.numel() == out && running_var.numel() == out && gamma.numel() == out &&
               beta.numel() == out,
           "fold_batch_norm: BatchNorm has ", running_mean.numel(), " channels, the convolution ", out);
  // Differentiable in weight, bias, gamma and beta (quantization-aware training folds every step).
  const at::Tensor factor = gamma / torch::sqrt(running_var + eps);
  std::vector<int64_t> shape(static_cast<size_t>(weight.dim()), 1);
  shape[0] = out;
  const at::Tensor w = weight * factor.view(shape);
  const at::Tensor b0 = bias.defined() ? bias : torch::zeros_like(running_mean);
  return {w, (b0 - running_mean) * factor + beta};
}

at::Tensor quantize_weight_per_channel(const at::Tensor& weight, int64_t quant_max) {
  torch::NoGradGuard no_grad;
  const at::Tensor w = weight.to(torch::kFloat).contiguous();
  at::Tensor scales =
      w.abs().reshape({w.size(0), -1}).amax(1).to(torch::kDouble) / static_cast<double>(quant_max);
  scales = torch::where(scales > 0, scales, torch::ones_like(scales));
  const at::Tensor zero_points = torch::zeros({w.size(0)}, torch::kLong);
  return torch::quantize_per_channel(w, scales, zero_points, 0, torch::kQInt8);
}

QParams uint8_qparams(double lo, double hi, int64_t quant_max) {
  MN_CHECK(quant_max >= 1 && quant_max <= 255, "uint8_qparams: quant_max ", quant_max, " is not in 1..255");
  MN_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "uint8_qparams: bad range [", lo, ", ", hi,
           "]");
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  QParams q;
  q.scale = hi > lo ? (hi - lo) / static_cast<double>(quant_max) : 1.0;
  q.zero_point = std::clamp<int64_t>(static_cast<int64_t>(std::llround(-lo / q.scale)), 0, quant_max);
  return q;
}

Observer::Observer(std::string kind) : kind_(std::move(kind)) {
  MN_CHECK_USAGE(kind_ == "minmax" || kind_ == "percentile", "unknown observer '", kind_,
                 "' (valid: minmax, percentile)");
}

void Observer::observe(const at::Tensor& x) {
  torch::NoGradGuard no_grad;
  const at::Tensor v = x.detach().to(torch::kFloat).flatten().cpu();
  if (v.numel() == 0) return;
  MN_CHECK(torch::isfinite(v).all().item<bool>(), "calibration saw a non-finite activation");
  const double lo = v.min().item<double>(), hi = v.max().item<double>();
  lo_ = count_ == 0 ? lo : std::min(lo_, lo);
  hi_ = count_ == 0 ? hi : std::max(hi_, hi);
  count_ += v.numel();
  if (kind_ == "percentile") {
    // Keep at most 2^20 values: every k-th value of each batch, k fixed by the batch size.
    constexpr int64_t kKeep = 1 << 18;
    const int64_t step = std::max<int64_t>(1, v.numel() / kKeep);
    const at::Tensor part = v.slice(0, 0, v.numel(), step);
    sample_ = sample_.defined() ? torch::cat({sample_, part}) : part;
    if (sample_.numel() > 4 * kKeep) sample_ = sample_.slice(0, 0, sample_.numel(), 2);
  }
}

QParams Observer::qparams(int64_t quant_max) const {
  MN_CHECK(count_ > 0, "the ", kind_, " observer saw no calibration data");
  if (kind_ == "minmax") return uint8_qparams(lo_, hi_, quant_max);
  const at::Tensor sorted = std::get<0>(sample_.sort());
  const int64_t n = sorted.numel();
  auto at_q = [&](double q) {
    return sorted[std::clamp<int64_t>(static_cast<int64_t>(std::floor(q * static_cast<double>(n - 1))), 0,
                                      n - 1)]
        .item<double>();
  };
  return uint8_qparams(at_q(0.0001), at_q(0.9999), quant_max);
}

}  // namespace mednet::quant
