#pragma once
// Gradient averaging for data-parallel training, overlapped with the backward pass: parameters are
// grouped in buckets (about 25 MB, output layers first, the order their gradients appear in), a hook
// on each parameter copies its gradient into its bucket as soon as autograd computes it, and a full
// bucket starts its all-reduce at once while backward goes on with the layers below. Buckets start in
// one fixed order on every rank (a bucket waits for the ones before it), as collectives must match.
#include <memory>
#include <mutex>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/dist/group.h"

namespace mednet::dist {

class GradientSync {
 public:
  /// params: the trainable parameters (requires_grad), as the model lists them.
  GradientSync(Group& group, std::vector<at::Tensor> params, int64_t bucket_bytes = 25 << 20);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  /// Before each step's backward (a rank without samples in a step calls it too).
  void begin_step();
  /// After backward: buckets not yet started (parameters that got no gradient count as zero) start,
  /// all are awaited, and every parameter's .grad() becomes the mean over ranks.
  void finish_step();

  size_t buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_
    std::vector<int64_t> offsets;
    at::Tensor flat;
    size_t filled = 0;
    Group::Pending pending;
  };
  void on_grad(size_t param, const at::Tensor& grad);
  /// Starts the full buckets in index order: every rank starts the same collectives in the same order.
  void launch_ready(bool all);

  Group& group_;
  std::vector<at::Tensor> params_;
  std::vector<size_t> bucket_of_, slot_of_;
  std::vector<unsigned> hooks_;  // to remove them when this object goes
  std::vector<char> got_;        // per parameter: its gradient is in the bucket this step
  std::vector<Bucket> buckets_;
  size_t next_launch_ = 0;
  std::mutex mutex_;
  bool active_ = false;
};

}  // namespace mednet::dist
