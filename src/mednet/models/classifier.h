#pragma once
// The interface every network in mednet implements. LibTorch modules have no hooks, so a model
// exposes its last feature map next to the logits (for Grad-CAM).
#include <string>
#include <utility>

#include <torch/nn/module.h>

namespace mednet::models {

class ClassifierImpl : public torch::nn::Module {
 public:
  /// Logits [N, K].
  virtual at::Tensor forward(const at::Tensor& x) = 0;
  /// (target feature map, logits).
  virtual std::pair<at::Tensor, at::Tensor> forward_features(const at::Tensor& x) = 0;
  /// Registry name ("cnn", ...).
  virtual std::string kind() const = 0;
};

using Classifier = std::shared_ptr<ClassifierImpl>;

/// Number of trainable parameters.
int64_t count_parameters(const torch::nn::Module& m);

}  // namespace mednet::models
