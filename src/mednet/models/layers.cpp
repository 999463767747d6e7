#include "mednet/models/layers.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "mednet/core/error.h"
#include "mednet/models/batch_norm.h"

namespace mednet::models {

namespace {
void check_dims(int d) {
  MN_CHECK(d == 2 || d == 3, "spatial_dims must be 2 or 3, got ", d);
}
}  // namespace

torch::nn::AnyModule conv(int d, int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding,
                          bool bias) {
  check_dims(d);
  if (d == 2) {
    return torch::nn::AnyModule(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(padding).bias(bias)));
  }
  return torch::nn::AnyModule(
      torch::nn::Conv3d(torch::nn::Conv3dOptions(in, out, k).stride(stride).padding(padding).bias(bias)));
}

torch::nn::AnyModule batch_norm(int d, int64_t channels) {
  check_dims(d);
  // LibTorch's BatchNorm, able to synchronise its statistics in a distributed job (batch_norm.h).
  return torch::nn::AnyModule(BatchNorm(BatchNormOptions(d, channels)));
}

torch::nn::AnyModule max_pool(int d, int64_t k) {
  check_dims(d);
  if (d == 2) return torch::nn::AnyModule(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(k)));
  return torch::nn::AnyModule(torch::nn::MaxPool3d(torch::nn::MaxPool3dOptions(k)));
}

torch::nn::AnyModule global_avg_pool(int d) {
  check_dims(d);
  if (d == 2)
    return torch::nn::AnyModule(torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions(1)));
  return torch::nn::AnyModule(torch::nn::AdaptiveAvgPool3d(torch::nn::AdaptiveAvgPool3dOptions(1)));
}

void append_dense_head(torch::nn::Sequential& head, int64_t in, const std::vector<int64_t>& hidden,
                       double dropout, int64_t classes) {
  for (int64_t h : hidden) {
    head->push_back(torch::nn::Linear(in, h));
    head->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    head->push_back(torch::nn::Dropout(dropout));
    in = h;
  }
  head->push_back(torch::nn::Linear(in, classes));
}

}  // namespace mednet::models
