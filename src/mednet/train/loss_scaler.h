#pragma once
// Dynamic loss scaling for fp16 training (as torch.cuda.amp.GradScaler): the loss is multiplied by a
// large scale before backward so small gradients survive fp16; the gradients are divided by it before
// the step, a step whose gradients overflowed is skipped, and the scale halves on an overflow and
// doubles after 2000 clean steps. Needs a CUDA device.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/optim/optimizer.h>

namespace mednet::train {

class LossScaler {
 public:
  explicit LossScaler(const c10::Device& device);
  at::Tensor scale(const at::Tensor& loss) const { return loss * scale_; }
  /// Unscales every gradient in place and updates the scale; false when one was not finite (skip
  /// the step). Reads one number from the device.
  bool unscale(torch::optim::Optimizer& optimizer);

 private:
  at::Tensor scale_, growth_tracker_;
};

}  // namespace mednet::train
