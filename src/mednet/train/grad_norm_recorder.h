#pragma once
// Per-layer gradient norms while training: the first training step's and each recorded epoch's mean,
// per weight tensor in depth order (convolutions and dense layers; projection shortcuts are left out
// so that a residual network and its plain twin have the same depth axis). Rows go to grad_norms.csv.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/models/classifier.h"

namespace mednet::train {

class GradNormRecorder {
 public:
  explicit GradNormRecorder(models::ClassifierImpl& model);
  /// Adds the current gradients (after backward, before the optimizer step).
  void add_step();
  /// Appends this epoch's rows to path (and, after the run's first epoch, the first step's as epoch 0).
  void flush(int epoch, const std::string& path);

 private:
  std::vector<std::string> names_;
  std::vector<at::Tensor> params_;
  std::vector<double> sums_, first_;
  int64_t steps_ = 0;
};

}  // namespace mednet::train
