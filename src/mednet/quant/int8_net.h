#pragma once
// Int8 inference of a folded layer list through LibTorch's quantized operators:
// - dynamic: int8 per-channel weights, activations quantized per batch from their own range,
// - static (full integer): uint8 activations with calibrated scales from the input quantize to the
//   output dequantize, int8 per-channel weights.
// quant/int8_file.h stores a network as one .safetensors file.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/quant/calibrate.h"
#include "mednet/quant/layers.h"

namespace mednet::quant {

/// How an int8 network computes: dynamic range or full integer (static). Quantization-aware training
/// produces a static network.
enum class Mode { Dynamic, Static };
Mode parse_mode(const std::string& name);
std::string mode_name(Mode mode);

/// What computes one step of an int8 model.
struct KernelInfo {
  std::string layer;   ///< source module names, or "input" / "output"
  std::string kernel;  ///< the operator
  bool int8 = true;    ///< false: this step computes in float (the reason is in kernel)
};

/// The quantized engine (chosen once: onednn where present, else x86, fbgemm, qnnpack).
std::string quantized_engine();

/// One layer of an int8 network as stored: its description (weights unset), int8 weights per output
/// channel, float bias and output quantization.
struct Int8Layer {
  Layer spec;
  at::Tensor qweight;  ///< per-channel qint8 (conv and linear)
  at::Tensor bias;     ///< float
  QParams out;
};

/// Everything an int8 network is made of (what the int8 file holds).
struct Int8Parts {
  Mode mode = Mode::Static;
  QParams input;
  std::vector<Int8Layer> layers;
};

class Int8Net {
 public:
  /// From folded layers. Static needs the calibration; dynamic ignores it.
  Int8Net(const std::vector<Layer>& folded, Mode mode, const Calibration* calibration);
  /// From stored parts (the int8 file's reader).
  explicit Int8Net(Int8Parts parts);
  /// Float logits of float network input (no gradients).
  at::Tensor forward(const at::Tensor& x) const;
  Mode mode() const;
  const Int8Parts& parts() const;
  std::vector<KernelInfo> kernels() const;
  /// Milliseconds of each step of one full-integer forward pass (input quantize, layers, dequantize).
  std::vector<std::pair<std::string, double>> profile(const at::Tensor& x) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mednet::quant
