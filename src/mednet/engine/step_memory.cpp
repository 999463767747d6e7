#include "mednet/engine/step_memory.h"

#include <algorithm>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/tensor_memory.h"

namespace mednet::engine {

namespace {

// What the measurement changes in the model, saved and put back.
class ModelState {
 public:
  explicit ModelState(torch::nn::Module& model)
      : model_(model), training_(model.is_training()), gen_(at::detail::getDefaultCPUGenerator()) {
    rng_ = gen_.get_state();
    for (auto& b : model.buffers()) {
      buffers_.push_back(b);
      saved_.push_back(b.clone());
    }
    for (auto& p : model.parameters()) grads_.push_back(p.grad().defined() ? p.grad().clone() : at::Tensor());
  }
  ~ModelState() {
    torch::NoGradGuard no_grad;
    model_.train(training_);
    gen_.set_state(rng_);
    for (size_t i = 0; i < buffers_.size(); ++i) buffers_[i].copy_(saved_[i]);
    size_t i = 0;
    for (auto& p : model_.parameters()) p.mutable_grad() = grads_[i++];
  }

 private:
  torch::nn::Module& model_;
  bool training_;
  at::Generator gen_;  // a handle to the one CPU generator
  at::Tensor rng_;
  std::vector<at::Tensor> buffers_, saved_, grads_;
};

LinearBytes line_through(int64_t r1, double b1, int64_t r2, double b2) {
  LinearBytes l;
  l.per_row = std::max(0.0, (b2 - b1) / static_cast<double>(r2 - r1));
  l.fixed = std::max(0.0, b2 - l.per_row * static_cast<double>(r2));
  return l;
}

}  // namespace

StepMemory measure_step_memory(models::ClassifierImpl& model, const at::Tensor& inputs) {
  return measure_step_memory(
      model, [&](const at::Tensor& x) { return model.forward(x); }, inputs);
}

StepMemory measure_step_memory(torch::nn::Module& model,
                               const std::function<at::Tensor(const at::Tensor&)>& forward,
                               const at::Tensor& inputs) {
  StepMemory m;
  MN_CHECK(inputs.size(0) >= 4, "measure_step_memory needs at least 4 rows, got ", inputs.size(0));
  if (!inputs.device().is_cpu()) return m;
  const ModelState keep(model);
  const int64_t r2 = inputs.size(0), r1 = r2 / 2;
  double train[2], eval[2];
  for (int k = 0; k < 2; ++k) {
    const at::Tensor x = inputs.narrow(0, 0, k == 0 ? r1 : r2).clone();
    for (auto& p : model.parameters()) p.mutable_grad() = at::Tensor();
    core::TensorMemoryCounter counter;
    const int64_t start = counter.now();
    {
      torch::AutoGradMode grad(true);
      model.train();
      const at::Tensor out = forward(x);
      if (out.requires_grad()) out.sum().backward();  // a frozen network makes no gradients
    }
    train[k] = static_cast<double>(counter.peak() - start);
    for (auto& p : model.parameters()) p.mutable_grad() = at::Tensor();
    counter.reset_peak();
    const int64_t eval_start = counter.now();
    {
      torch::NoGradGuard no_grad;
      model.eval();
      forward(x);
    }
    eval[k] = static_cast<double>(counter.peak() - eval_start);
  }
  m.measured = true;
  m.rows = r2;
  m.train = line_through(r1, train[0], r2, train[1]);
  m.eval = line_through(r1, eval[0], r2, eval[1]);
  return m;
}

}  // namespace mednet::engine
