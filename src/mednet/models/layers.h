#pragma once
// Dimension-agnostic layer factory (after MONAI): one call returns the 2D or 3D variant, so one
// network definition serves both the 2D and the 3D experiments.
#include <vector>

#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/sequential.h>

namespace mednet::models {

/// Conv{2,3}d with a cubic kernel, no bias when followed by batch norm.
torch::nn::AnyModule conv(int spatial_dims, int64_t in, int64_t out, int64_t kernel, int64_t stride,
                          int64_t padding, bool bias);
/// BatchNorm{2,3}d (models/batch_norm.h: synchronised over ranks with --sync-bn).
torch::nn::AnyModule batch_norm(int spatial_dims, int64_t channels);
torch::nn::AnyModule max_pool(int spatial_dims, int64_t kernel);
/// Global average pooling to 1 per spatial dimension.
torch::nn::AnyModule global_avg_pool(int spatial_dims);

/// Appends [Linear -> ReLU -> Dropout] per hidden width, then the output Linear (the classifier heads).
void append_dense_head(torch::nn::Sequential& head, int64_t in, const std::vector<int64_t>& hidden,
                       double dropout, int64_t classes);

}  // namespace mednet::models
