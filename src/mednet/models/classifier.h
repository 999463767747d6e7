#pragma once
// The interface every network in mednet implements. LibTorch modules have no hooks, so a model
// exposes its named feature maps next to the logits (for Grad-CAM).
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

namespace mednet::models {

class ClassifierImpl : public torch::nn::Module {
 public:
  /// Logits [N, K].
  virtual at::Tensor forward(const at::Tensor& x) = 0;
  /// Names of the feature maps a class activation map can target, from input to output.
  virtual std::vector<std::string> feature_layers() const = 0;
  /// (feature map of the named layer, logits). An unknown name is a usage error listing the valid ones.
  virtual std::pair<at::Tensor, at::Tensor> forward_at(const at::Tensor& x, const std::string& layer) = 0;
  /// (the last convolutional stage's feature map, logits).
  std::pair<at::Tensor, at::Tensor> forward_features(const at::Tensor& x) {
    return forward_at(x, feature_layers().back());
  }
  /// Index of layer in feature_layers(), or a usage error naming the valid layers.
  size_t layer_index(const std::string& layer) const;
  /// Registry name ("cnn", ...).
  virtual std::string kind() const = 0;
};

using Classifier = std::shared_ptr<ClassifierImpl>;

/// Number of trainable parameters.
int64_t count_parameters(const torch::nn::Module& m);

}  // namespace mednet::models
