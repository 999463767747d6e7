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
  /// Logits from the named layer's feature map on: the rest of forward_at's path, for methods that edit the
  /// map (AblationCAM); forward_from(forward_at(x, l).first, l) equals forward(x). A model that cannot
  /// resume at a layer says so (a usage error).
  virtual at::Tensor forward_from(const at::Tensor& fmap, const std::string& layer);
  /// (the last convolutional stage's feature map, logits).
  std::pair<at::Tensor, at::Tensor> forward_features(const at::Tensor& x) {
    return forward_at(x, feature_layers().back());
  }
  /// Index of layer in feature_layers(), or a usage error naming the valid layers.
  size_t layer_index(const std::string& layer) const;
  /// Registry name ("cnn", ...).
  virtual std::string kind() const = 0;

  // Transfer learning. The network is a backbone of numbered blocks (input side first) and a head.
  /// Parameter-name prefix of the head (every other parameter belongs to the backbone).
  virtual std::string head_prefix() const = 0;
  /// Number of backbone blocks that freezing can count.
  virtual int block_count() const = 0;
  /// Backbone block (1-based) of a parameter name; 0 for the head.
  virtual int block_of(const std::string& param) const = 0;
  /// True when embed()/classify() split forward() into a pooled backbone vector and the head, so a
  /// frozen backbone's output can be computed once and cached.
  virtual bool can_embed() const { return false; }
  /// Pooled backbone output [N, D]; forward(x) == classify(embed(x)).
  virtual at::Tensor embed(const at::Tensor& x);
  virtual at::Tensor classify(const at::Tensor& features);
};

using Classifier = std::shared_ptr<ClassifierImpl>;

/// Number of parameters: only the trainable ones (requires_grad), or all with trainable_only = false.
int64_t count_parameters(const torch::nn::Module& m, bool trainable_only = true);

}  // namespace mednet::models
