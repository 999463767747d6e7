#pragma once
// An exponential moving average of a model's weights and BatchNorm statistics ("ema" in a config),
// updated after each optimizer step with decay min(ema, (1 + t) / (10 + t)) at update t, so that early
// averages are not dominated by the random start. The trainer swaps the average into the model to score
// and checkpoint it, and swaps the trained weights back to go on.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace mednet::train {

class WeightAverage {
 public:
  /// Starts as a copy of the model's tensors (parameters and buffers, on their device).
  WeightAverage(torch::nn::Module& model, double decay);

  /// Moves the average towards the model's current tensors (integer buffers are copied).
  void update();
  /// Exchanges the model's tensors with the average; calling it twice restores both.
  void swap();
  /// Updates done (a resumed run sets the count of the epochs it has already trained).
  int64_t updates() const { return updates_; }
  void set_updates(int64_t n) { updates_ = n; }
  /// The decay the next update uses.
  double next_decay() const;

 private:
  std::vector<at::Tensor> model_tensors_;  // the model's own (shared storage)
  std::vector<at::Tensor> average_;
  double decay_;
  int64_t updates_ = 0;
};

/// Swaps the average in for a scope (no-op for a null average).
class AverageSwapped {
 public:
  explicit AverageSwapped(WeightAverage* average) : average_(average) {
    if (average_) average_->swap();
  }
  ~AverageSwapped() {
    if (average_) average_->swap();
  }
  AverageSwapped(const AverageSwapped&) = delete;
  AverageSwapped& operator=(const AverageSwapped&) = delete;

 private:
  WeightAverage* average_;
};

}  // namespace mednet::train
