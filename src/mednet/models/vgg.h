#pragma once
// VGG16 (Simonyan & Zisserman 2015) with torchvision's layout: `features` holds the 13 convolutions
// at torchvision's indices (features.0.weight ... features.28.bias), so ImageNet weights saved by
// torchvision or timm load by name. The head is the study's: global average pooling, dense layers
// with dropout, the classification layer. The input is resized (bilinear) to input_size, grayscale
// is repeated to 3 channels, and ImageNet mean/std normalisation is applied when asked for.
#include <vector>

#include <torch/arg.h>
#include <torch/nn/modules/container/sequential.h>

#include "mednet/models/classifier.h"

namespace mednet::models {

struct VggOptions {
  explicit VggOptions(int64_t classes) : classes_(classes) {}
  TORCH_ARG(int64_t, classes);
  TORCH_ARG(int64_t, in_channels) = 3;  ///< 1 is repeated to 3
  TORCH_ARG(int64_t, input_size) = 64;  ///< 0 = keep the image's size
  TORCH_ARG(bool, imagenet_norm) = false;
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{256};
  TORCH_ARG(double, dropout) = 0.5;
};

class VggImpl : public ClassifierImpl {
 public:
  explicit VggImpl(VggOptions options);
  at::Tensor forward(const at::Tensor& x) override;
  /// block1 .. block5: the last ReLU of each block, before its max-pool.
  std::vector<std::string> feature_layers() const override;
  std::pair<at::Tensor, at::Tensor> forward_at(const at::Tensor& x, const std::string& layer) override;
  at::Tensor forward_from(const at::Tensor& fmap, const std::string& layer) override;
  std::string kind() const override { return "vgg16"; }
  std::string head_prefix() const override { return "head."; }
  int block_count() const override { return 5; }
  int block_of(const std::string& param) const override;
  bool can_embed() const override { return true; }
  at::Tensor embed(const at::Tensor& x) override;
  at::Tensor classify(const at::Tensor& features) override;
  /// The network's own input: 3 channels, resized, normalised (prepare_vgg_input with its options).
  at::Tensor prepare(const at::Tensor& x) const;
  const VggOptions& options() const { return options_; }

 private:
  VggOptions options_;
  torch::nn::Sequential features_{nullptr};
  torch::nn::Sequential head_{nullptr};
  std::vector<size_t> pool_at_;  // index of each block's max-pool in features_
};
TORCH_MODULE(Vgg);

/// VGG16's input from the network input [N, 1 or 3, H, W]: grayscale repeated to 3 channels, bilinear
/// resize to input_size (0: keep), ImageNet normalisation when asked for.
at::Tensor prepare_vgg_input(const at::Tensor& x, int64_t input_size, bool imagenet_norm);

}  // namespace mednet::models
