#pragma once
// Int8 inference for the plain CNN (2D and 3D) through LibTorch's quantized operators. The float
// model is read into a list of layers (conv [+BatchNorm] [+ReLU], max-pool, average pool, flatten,
// linear [+ReLU]); BatchNorm is folded into its convolution; then
// - dynamic: int8 per-channel weights, activations quantized per batch from their own range,
// - static (full integer): uint8 activations with calibrated scales from the input quantize to the
//   output dequantize, int8 per-channel weights.
// The int8 model is saved as one .safetensors file (int8 weights, scales, zero points, the layer list).
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "mednet/models/classifier.h"
#include "mednet/quant/calibration.h"

namespace mednet::quant {

/// Activations use 8 bits (uint8 0..255) and weights 7 (int8 -63..63). AVX2 int8 kernels without VNNI
/// add pairs of uint8 x int8 products in int16, which saturates when both use the full range (on this
/// project's CPU onednn's conv with 8-bit inputs and weights was off by 12 output steps); 255 * 63 * 2
/// fits in int16. 7-bit weights agreed better with float on the real runs than 7-bit activations.
constexpr int64_t kActivationQuantMax = 255;
constexpr int64_t kWeightQuantMax = 63;

/// dynamic | static | qat (quantization-aware training, converted to the static int8 model).
enum class Mode { Dynamic, Static, Qat };
Mode parse_mode(const std::string& name);
std::string mode_name(Mode mode);

/// One layer of a plain network in inference form.
struct Layer {
  enum class Op { Conv, MaxPool, AvgPool, Flatten, Linear };
  Op op = Op::Conv;
  std::string source;  ///< the float model's module names ("features.0+features.1+features.2")
  int dims = 2;        ///< spatial dimensions of a convolution or pool
  int64_t kernel = 1, stride = 1, padding = 0;
  bool relu = false;
  double dropout = 0;       ///< after the ReLU, in training only (quantization-aware training)
  at::Tensor weight, bias;  ///< convolution and linear (bias undefined: none)
  at::Tensor bn_weight, bn_bias, bn_mean, bn_var;  ///< BatchNorm after a convolution (undefined: none)
  double bn_eps = 1e-5;
};
std::string op_name(Layer::Op op);

/// The model's layers in order (CPU copies). Only the sequential "cnn" converts; another model, or a
/// layer without an int8 form, is a usage error that names it.
std::vector<Layer> extract_layers(models::ClassifierImpl& model);
/// The layers with every BatchNorm folded into its convolution (which then has a bias).
std::vector<Layer> fold_layers(const std::vector<Layer>& layers);
/// One layer in float (inference: BatchNorm with running statistics, no dropout).
at::Tensor apply_float(const Layer& layer, const at::Tensor& x);
/// The whole list in float.
at::Tensor run_float(const std::vector<Layer>& layers, const at::Tensor& x);

/// Activation ranges of a folded network: its input and every layer's output (max-pool, average
/// pool and flatten keep their input's parameters, as the quantized operators do).
struct Calibration {
  std::string observer;
  int64_t samples = 0;
  QParams input;
  std::vector<QParams> outputs;
};
/// Runs images (network input, float) through the folded layers in batches and observes them.
Calibration calibrate(const std::vector<Layer>& folded, const at::Tensor& images, const std::string& observer,
                      int batch_size);

/// What computes one step of an int8 model.
struct KernelInfo {
  std::string layer;   ///< source module names, or "input" / "output"
  std::string kernel;  ///< the operator
  bool int8 = true;    ///< false: this step computes in float (the reason is in kernel)
};

/// The quantized engine (chosen once: onednn where present, else x86, fbgemm, qnnpack).
std::string quantized_engine();

class Int8Net {
 public:
  /// From folded layers. Static needs the calibration; dynamic ignores it.
  Int8Net(const std::vector<Layer>& folded, Mode mode, const Calibration* calibration);
  /// Float logits of float network input (no gradients).
  at::Tensor forward(const at::Tensor& x) const;
  Mode mode() const;
  std::vector<KernelInfo> kernels() const;
  /// Milliseconds of each step of one full-integer forward pass (input quantize, layers, dequantize).
  std::vector<std::pair<std::string, double>> profile(const at::Tensor& x) const;
  /// Writes the int8 file; info (JSON) is stored in its metadata next to the layer list.
  void save(const std::string& path, const nlohmann::json& info) const;
  /// Reads a file written by save(); info receives what was stored with it.
  static Int8Net load(const std::string& path, nlohmann::json* info = nullptr);

 private:
  struct Impl;
  Int8Net() = default;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mednet::quant
