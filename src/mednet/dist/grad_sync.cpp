#include "mednet/dist/grad_sync.h"

#include <torch/torch.h>

#include "mednet/core/error.h"

namespace mednet::dist {

GradientSync::GradientSync(Group& group, std::vector<at::Tensor> params, int64_t bucket_bytes)
    : group_(group), params_(std::move(params)) {
  const size_t n = params_.size();
  bucket_of_.assign(n, 0);
  slot_of_.assign(n, 0);
  got_.assign(n, 0);
  // Output side first: gradients appear in roughly reverse registration order.
  Bucket current;
  int64_t bytes = 0, numel = 0;
  auto close = [&] {
    if (current.params.empty()) return;
    current.flat = torch::zeros({numel}, params_[current.params.front()].options().requires_grad(false));
    buckets_.push_back(std::move(current));
    current = Bucket();
    bytes = 0;
    numel = 0;
  };
  for (size_t k = n; k-- > 0;) {
    const at::Tensor& p = params_[k];
    MN_CHECK(p.requires_grad(), "GradientSync: parameter ", k, " does not require a gradient");
    if (!current.params.empty() && p.scalar_type() != params_[current.params.front()].scalar_type()) close();
    bucket_of_[k] = buckets_.size();
    slot_of_[k] = current.params.size();
    current.params.push_back(k);
    current.offsets.push_back(numel);
    numel += p.numel();
    bytes += p.numel() * static_cast<int64_t>(p.element_size());
    if (bytes >= bucket_bytes) close();
  }
  close();
  for (size_t k = 0; k < n; ++k) {
    hooks_.push_back(params_[k].register_hook([this, k](const at::Tensor& grad) { on_grad(k, grad); }));
  }
}

GradientSync::~GradientSync() {
  for (size_t k = 0; k < hooks_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

void GradientSync::begin_step() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::fill(got_.begin(), got_.end(), 0);
  for (auto& b : buckets_) {
    b.filled = 0;
    b.flat.zero_();
  }
  next_launch_ = 0;
  active_ = true;
}

void GradientSync::on_grad(size_t k, const at::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!active_ || got_[k]) return;
  Bucket& b = buckets_[bucket_of_[k]];
  const int64_t off = b.offsets[slot_of_[k]];
  b.flat.narrow(0, off, grad.numel()).copy_(grad.detach().reshape({-1}));
  got_[k] = 1;
  if (++b.filled == b.params.size()) launch_ready(false);
}

void GradientSync::launch_ready(bool all) {
  while (next_launch_ < buckets_.size()) {
    Bucket& b = buckets_[next_launch_];
    if (!all && b.filled < b.params.size()) return;
    b.pending = group_.allreduce_sum_async(b.flat);
    ++next_launch_;
  }
}

void GradientSync::finish_step() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    active_ = false;
    launch_ready(true);  // a parameter without gradient contributes zeros
  }
  torch::NoGradGuard no_grad;
  const double scale = 1.0 / static_cast<double>(group_.size());
  for (auto& b : buckets_) {
    b.pending.wait();
    b.flat.mul_(scale);
    for (size_t s = 0; s < b.params.size(); ++s) {
      at::Tensor& p = params_[b.params[s]];
      const at::Tensor avg = b.flat.narrow(0, b.offsets[s], p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(avg);
      } else {
        p.mutable_grad() = avg.clone();
      }
    }
  }
}

}  // namespace mednet::dist
