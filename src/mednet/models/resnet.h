#pragma once
// ResNet (He et al. 2016) in 2D and 3D, with torchvision's layout and parameter names: conv1, bn1,
// layer1..layer4 of basic or bottleneck blocks (the stride on the 3x3 convolution, as torchvision's
// v1.5), global average pooling, fc. With skip(false) the same stack has no shortcuts at all (a
// "plain" network, for the gradient-flow comparison).
#include <vector>

#include <torch/arg.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "mednet/models/classifier.h"

namespace mednet::models {

enum class BlockKind { Basic, Bottleneck };

struct ResNetOptions {
  ResNetOptions(int64_t classes, BlockKind block, std::vector<int64_t> layers)
      : classes_(classes), block_(block), layers_(std::move(layers)) {}
  TORCH_ARG(int64_t, classes);
  TORCH_ARG(BlockKind, block);
  TORCH_ARG(std::vector<int64_t>, layers);  ///< blocks per stage, for example {2, 2, 2, 2}
  TORCH_ARG(std::vector<int64_t>, widths) = std::vector<int64_t>{64, 128, 256, 512};
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int, spatial_dims) = 2;
  /// Small stem for 28-px inputs: 3x3 stride-1 conv, no max-pool. Otherwise 7x7 stride 2 + max-pool.
  TORCH_ARG(bool, small_stem) = false;
  TORCH_ARG(bool, skip) = true;
  TORCH_ARG(double, dropout) = 0;  ///< before fc
};

/// One residual block; without skip it is the same convolutions without the shortcut.
class ResBlockImpl : public torch::nn::Module {
 public:
  ResBlockImpl(int spatial_dims, BlockKind kind, int64_t in, int64_t width, int64_t stride, bool skip);
  at::Tensor forward(const at::Tensor& x);
  static int64_t expansion(BlockKind kind) { return kind == BlockKind::Bottleneck ? 4 : 1; }

 private:
  std::vector<std::pair<torch::nn::AnyModule, torch::nn::AnyModule>> convs_;  // (conv, bn)
  torch::nn::Sequential downsample_{nullptr};
  bool skip_;
};
TORCH_MODULE(ResBlock);

class ResNetImpl : public ClassifierImpl {
 public:
  explicit ResNetImpl(ResNetOptions options);
  at::Tensor forward(const at::Tensor& x) override;
  /// stem, layer1 .. layer4 (each stage's output).
  std::vector<std::string> feature_layers() const override;
  std::pair<at::Tensor, at::Tensor> forward_at(const at::Tensor& x, const std::string& layer) override;
  at::Tensor forward_from(const at::Tensor& fmap, const std::string& layer) override;
  std::string kind() const override { return options_.skip() ? "resnet" : "plain"; }
  /// Blocks: 1 is the stem (conv1, bn1), 2.. are layer1 ...
  std::string head_prefix() const override { return "fc."; }
  int block_count() const override { return static_cast<int>(stages_.size()) + 1; }
  int block_of(const std::string& param) const override;
  const ResNetOptions& options() const { return options_; }

 private:
  at::Tensor stem(const at::Tensor& x);
  at::Tensor head(const at::Tensor& fmap);

  ResNetOptions options_;
  torch::nn::AnyModule conv1_, bn1_, pool_, avgpool_;
  std::vector<torch::nn::Sequential> stages_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(ResNet);

/// The standard depths: 18 and 34 (basic), 50, 101 and 152 (bottleneck).
ResNetOptions resnet_options(int depth, int64_t classes);

}  // namespace mednet::models
