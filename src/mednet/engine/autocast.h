#pragma once
// Reduced-precision forward passes: while an Autocast is alive, CUDA operations that profit (convolutions,
// matrix products) run in bf16 or fp16 and the rest in fp32, as torch.autocast does.
#include <string>

#include <c10/core/Device.h>

namespace mednet::engine {

/// A precision other than fp32 on a device other than CUDA is a usage error. The value itself is checked
/// where the config is read (run::TrainConfig::validate).
void check_precision(const std::string& precision, const c10::Device& device);

class Autocast {
 public:
  /// Does nothing for fp32 or a CPU device.
  Autocast(const std::string& precision, const c10::Device& device);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool active_ = false;
};

}  // namespace mednet::engine
