#pragma once
// Batch normalisation (Ioffe & Szegedy 2015) for 2D and 3D feature maps, computed as LibTorch's
// BatchNorm2d/3d (same parameters and buffers under the same names, so checkpoints and weight files
// are unchanged), with one addition: in a data-parallel job with `--sync-bn`, a rank-sum can be set,
// and in training mode the mean and variance are then those of the global batch. The sums travel
// through an autograd function, so the backward pass sums their gradients over the ranks as well.
#include <functional>
#include <memory>
#include <ostream>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>

namespace mednet::models {

/// Sums a tensor over the ranks of a job, in place (every rank calls it in the same order).
using SumOverRanks = std::function<void(at::Tensor&)>;

struct BatchNormOptions {
  BatchNormOptions(int spatial_dims, int64_t num_features)
      : spatial_dims_(spatial_dims), num_features_(num_features) {}
  TORCH_ARG(int, spatial_dims);
  TORCH_ARG(int64_t, num_features);
  TORCH_ARG(double, eps) = 1e-5;
  TORCH_ARG(double, momentum) = 0.1;
};

class BatchNormImpl : public torch::nn::Cloneable<BatchNormImpl> {
 public:
  explicit BatchNormImpl(BatchNormOptions options);
  void reset() override;
  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  BatchNormOptions options;
  at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  std::shared_ptr<SumOverRanks> sync;  ///< set: training-mode statistics over every rank's batch
};
TORCH_MODULE(BatchNorm);

/// Sets (or, with nullptr, clears) the rank-sum of every BatchNorm in the model; returns how many.
int set_batch_norm_sync(torch::nn::Module& model, std::shared_ptr<SumOverRanks> sum);

}  // namespace mednet::models
