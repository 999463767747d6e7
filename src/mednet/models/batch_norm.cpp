#include "mednet/models/batch_norm.h"

#include <torch/torch.h>

namespace mednet::models {

namespace {

/// y = the sum of x over the ranks; backward: the sum of the gradients over the ranks.
struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, int64_t sum) {
    ctx->saved_data["sum"] = sum;
    at::Tensor y = x.clone();
    (*reinterpret_cast<SumOverRanks*>(sum))(y);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* sum = reinterpret_cast<SumOverRanks*>(ctx->saved_data["sum"].toInt());
    at::Tensor g = grads[0].clone();
    (*sum)(g);
    return {g, at::Tensor()};
  }
};

}  // namespace

BatchNormImpl::BatchNormImpl(BatchNormOptions o) : options(std::move(o)) {
  reset();
}

void BatchNormImpl::reset() {
  const int64_t c = options.num_features();
  weight = register_parameter("weight", torch::ones({c}));
  bias = register_parameter("bias", torch::zeros({c}));
  running_mean = register_buffer("running_mean", torch::zeros({c}));
  running_var = register_buffer("running_var", torch::ones({c}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::tensor(0, torch::kLong));
}

void BatchNormImpl::pretty_print(std::ostream& stream) const {
  stream << "mednet::BatchNorm" << options.spatial_dims() << "d(" << options.num_features()
         << ", eps=" << options.eps() << ", momentum=" << options.momentum() << ")";
}

at::Tensor BatchNormImpl::forward(const at::Tensor& x) {
  const int64_t want = options.spatial_dims() + 2;
  TORCH_CHECK(x.dim() == want, "BatchNorm", options.spatial_dims(), "d: expected a ", want, "D input, got ",
              x.dim(), "D");
  if (!is_training()) {
    return torch::batch_norm(x, weight, bias, running_mean, running_var, false, options.momentum(),
                             options.eps(), at::globalContext().userEnabledCuDNN());
  }
  if (!sync) {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  if (!sync) {
    return torch::batch_norm(x, weight, bias, running_mean, running_var, true, options.momentum(),
                             options.eps(), at::globalContext().userEnabledCuDNN());
  }
  // Per channel: sum, sum of squares and count, summed over the ranks in double precision.
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  const int64_t c = x.size(1);
  const at::Tensor xd = x.to(at::kDouble);
  const at::Tensor count = torch::full({1}, static_cast<double>(x.numel() / std::max<int64_t>(c, 1)),
                                       xd.options().requires_grad(false));
  const at::Tensor local = torch::cat({xd.sum(dims), (xd * xd).sum(dims), count});
  const at::Tensor global = AllReduceSum::apply(local, reinterpret_cast<int64_t>(sync.get()));
  const at::Tensor n = global.narrow(0, 2 * c, 1);
  const at::Tensor mean = global.narrow(0, 0, c) / n;
  const at::Tensor var = (global.narrow(0, c, c) / n - mean * mean).clamp_min(0);
  {
    torch::NoGradGuard no_grad;
    const double total = n.item<double>();
    const double m = options.momentum();
    running_mean.mul_(1 - m).add_(mean.detach().to(running_mean.scalar_type()), m);
    const at::Tensor unbiased = var.detach() * (total / std::max(total - 1, 1.0));
    running_var.mul_(1 - m).add_(unbiased.to(running_var.scalar_type()), m);
    num_batches_tracked.add_(1);
  }
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = c;
  const at::Tensor y =
      ((xd - mean.view(shape)) * (var + options.eps()).rsqrt().view(shape)).to(x.scalar_type());
  return y * weight.view(shape) + bias.view(shape);
}

int set_batch_norm_sync(torch::nn::Module& model, std::shared_ptr<SumOverRanks> sum) {
  int n = 0;
  for (auto& m : model.modules(/*include_self=*/true)) {
    if (auto* b = m->as<BatchNormImpl>()) {
      b->sync = sum;
      ++n;
    }
  }
  return n;
}

}  // namespace mednet::models
