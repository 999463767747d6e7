#pragma once
// The study's plain CNN: stages of [conv -> batch norm -> ReLU] x convs_per_stage -> max-pool, then
// fully connected layers with dropout. spatial_dims 2 or 3 (one definition for 2D and 3D).
#include <vector>

#include <torch/arg.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>

#include "mednet/models/classifier.h"

namespace mednet::models {

struct CnnOptions {
  explicit CnnOptions(int64_t classes) : classes_(classes) {}
  TORCH_ARG(int64_t, classes);
  TORCH_ARG(int64_t, in_channels) = 1;
  TORCH_ARG(int, spatial_dims) = 2;
  TORCH_ARG(int64_t, input_size) = 28;
  TORCH_ARG(std::vector<int64_t>, widths) = std::vector<int64_t>{32, 64, 128};
  TORCH_ARG(int, convs_per_stage) = 1;
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{256};
  TORCH_ARG(double, dropout) = 0.5;
  /// Global average pooling before the dense layers instead of flattening the last map.
  TORCH_ARG(bool, global_pool) = false;
};

class CnnImpl : public ClassifierImpl {
 public:
  explicit CnnImpl(CnnOptions options);
  at::Tensor forward(const at::Tensor& x) override;
  /// stage1 .. stageK: each stage's output before its max-pool.
  std::vector<std::string> feature_layers() const override;
  std::pair<at::Tensor, at::Tensor> forward_at(const at::Tensor& x, const std::string& layer) override;
  at::Tensor forward_from(const at::Tensor& fmap, const std::string& layer) override;
  std::string kind() const override { return "cnn"; }
  /// Blocks are the stages.
  std::string head_prefix() const override { return "head."; }
  int block_count() const override { return static_cast<int>(options_.widths().size()); }
  int block_of(const std::string& param) const override;
  const CnnOptions& options() const { return options_; }

 private:
  CnnOptions options_;
  torch::nn::Sequential features_{nullptr};
  torch::nn::Sequential head_{nullptr};
};
TORCH_MODULE(Cnn);

}  // namespace mednet::models
