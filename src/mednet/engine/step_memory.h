#pragma once
// What a run holds in tensors on the host beyond the splits: at the peak of a training step (the
// activations the forward pass keeps, the gradients the backward pass makes, the weights' gradients) and
// at the peak of an evaluation batch (no gradients; the largest layers' outputs side by side). Both grow
// linearly with the rows of a batch, so each is measured exactly (core::TensorMemoryCounter) on two small
// batches and extended to the run's batch sizes. The model comes back as it was: its mode, BatchNorm
// statistics, gradients and the random stream its dropout drew from are restored.
#include <cstdint>
#include <functional>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include "mednet/models/classifier.h"

namespace mednet::engine {

/// bytes = fixed + per_row x rows.
struct LinearBytes {
  double fixed = 0, per_row = 0;
  double at(int64_t rows) const { return fixed + per_row * static_cast<double>(rows); }
};

struct StepMemory {
  bool measured = false;  ///< false on a GPU
  LinearBytes train;      ///< peak of forward + backward in train mode, above what was held before
  LinearBytes eval;       ///< peak of a forward pass without gradients in eval mode
  int64_t rows = 0;       ///< the larger of the two batches measured
};

/// Measures model.forward on `inputs` (a few rows of the network's input, on the CPU; at least 4:
/// half of them and all of them are the two batches, and BatchNorm needs 2 rows in train mode).
StepMemory measure_step_memory(models::ClassifierImpl& model, const at::Tensor& inputs);
/// The same for any module and the forward pass given.
StepMemory measure_step_memory(torch::nn::Module& model,
                               const std::function<at::Tensor(const at::Tensor&)>& forward,
                               const at::Tensor& inputs);

}  // namespace mednet::engine
