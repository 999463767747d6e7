#pragma once
// Building blocks of int8 inference: BatchNorm folded into the preceding convolution, per-channel
// symmetric int8 weights, and observers that turn calibration activations into uint8 scale and zero
// point (min/max, or a percentile of the absolute range that ignores rare outliers).
#include <cstdint>
#include <string>
#include <utility>

#include <ATen/core/Tensor.h>

namespace mednet::quant {

/// Activations use 8 bits (uint8 0..255) and weights 7 (int8 -63..63). AVX2 int8 kernels without VNNI
/// add pairs of uint8 x int8 products in int16, which saturates when both use the full range (on this
/// project's CPU onednn's conv with 8-bit inputs and weights was off by 12 output steps); 255 * 63 * 2
/// fits in int16. 7-bit weights agreed better with float on the real runs than 7-bit activations.
constexpr int64_t kActivationQuantMax = 255;
constexpr int64_t kWeightQuantMax = 63;

/// Weight and bias of a convolution that computes conv followed by BatchNorm in inference mode:
/// W' = W * gamma / sqrt(var + eps) per output channel, b' = (b - mean) * gamma / sqrt(var + eps) + beta.
/// bias may be undefined (no bias).
std::pair<at::Tensor, at::Tensor> fold_batch_norm(const at::Tensor& weight, const at::Tensor& bias,
                                                  const at::Tensor& running_mean,
                                                  const at::Tensor& running_var, const at::Tensor& gamma,
                                                  const at::Tensor& beta, double eps);

/// Symmetric per-output-channel int8 quantization of a weight [out, ...]: scale = max|w| / quant_max
/// per channel (a channel of zeros gets scale 1), zero point 0, values in [-quant_max, quant_max].
at::Tensor quantize_weight_per_channel(const at::Tensor& weight, int64_t quant_max = 127);

/// Affine uint8 parameters covering [lo, hi] with the levels 0..quant_max (the range is widened to
/// contain 0 so that zero is exact).
struct QParams {
  double scale = 1;
  int64_t zero_point = 0;
};
QParams uint8_qparams(double lo, double hi, int64_t quant_max = 255);

/// Collects the range of activations over calibration batches.
class Observer {
 public:
  /// kind: "minmax" or "percentile" (the 0.01th and 99.99th percentiles of the values seen).
  explicit Observer(std::string kind);
  void observe(const at::Tensor& x);
  bool empty() const { return count_ == 0; }
  /// The parameters for the values seen (levels 0..quant_max); an error when nothing was observed.
  QParams qparams(int64_t quant_max = 255) const;
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  double lo_ = 0, hi_ = 0;
  int64_t count_ = 0;
  at::Tensor sample_;  // percentile: a bounded sample of the values seen
};

}  // namespace mednet::quant
