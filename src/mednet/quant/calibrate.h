#pragma once
// Activation ranges of a folded network for full-integer conversion and quantization-aware training.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/quant/calibration.h"
#include "mednet/quant/layers.h"

namespace mednet::quant {

/// The input and every layer's output (max-pool, average pool and flatten keep their input's
/// parameters, as the quantized operators do).
struct Calibration {
  std::string observer;
  int64_t samples = 0;
  QParams input;
  std::vector<QParams> outputs;
};
/// Runs images (network input, float) through the folded layers in batches and observes them.
Calibration calibrate(const std::vector<Layer>& folded, const at::Tensor& images, const std::string& observer,
                      int batch_size);

}  // namespace mednet::quant
