#include "mednet/train/optimizer.h"

#include <cmath>
#include <string>

#include <torch/torch.h>

#include "mednet/core/runtime.h"
#include "mednet/run/optimizer_state.h"

namespace mednet::train {

namespace {

// The tensors of one group's update, gathered so that each formula runs as one multi-tensor kernel.
struct GroupUpdate {
  std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs;
  std::vector<torch::optim::AdamParamState*> states;
};

}  // namespace

torch::Tensor ForeachAdam::step(LossClosure closure) {
  if (closure) return torch::optim::Adam::step(closure);
  std::vector<GroupUpdate> updates(param_groups_.size());
  for (size_t g = 0; g < param_groups_.size(); ++g) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(param_groups_[g].options());
    if (options.amsgrad()) return torch::optim::Adam::step();
    for (const auto& p : param_groups_[g].params()) {
      if (!p.grad().defined()) continue;
      if (p.grad().is_sparse()) return torch::optim::Adam::step();
      const auto it = state_.find(run::optimizer_state_key(*this, p));
      if (it == state_.end()) return torch::optim::Adam::step();  // the first step creates the state
      auto* st = static_cast<torch::optim::AdamParamState*>(it->second.get());
      if (!updates[g].states.empty() && st->step() != updates[g].states.front()->step())
        return torch::optim::Adam::step();
      updates[g].params.push_back(p);
      updates[g].grads.push_back(p.grad());
      updates[g].exp_avgs.push_back(st->exp_avg());
      updates[g].exp_avg_sqs.push_back(st->exp_avg_sq());
      updates[g].states.push_back(st);
    }
  }
  torch::NoGradGuard no_grad;
  for (size_t g = 0; g < param_groups_.size(); ++g) {
    GroupUpdate& u = updates[g];
    if (u.params.empty()) continue;
    const auto& options = static_cast<const torch::optim::AdamOptions&>(param_groups_[g].options());
    const int64_t step = u.states.front()->step() + 1;
    for (auto* st : u.states) st->step(step);
    const double beta1 = std::get<0>(options.betas());
    const double beta2 = std::get<1>(options.betas());
    const double bias_correction1 = 1 - std::pow(beta1, step);
    const double bias_correction2 = 1 - std::pow(beta2, step);
    // torch::optim::Adam::step's formulas, one kernel per line for the whole group.
    std::vector<at::Tensor> grads =
        options.weight_decay() != 0 ? at::_foreach_add(u.grads, u.params, options.weight_decay()) : u.grads;
    at::_foreach_mul_(u.exp_avgs, beta1);
    at::_foreach_add_(u.exp_avgs, grads, 1 - beta1);
    at::_foreach_mul_(u.exp_avg_sqs, beta2);
    at::_foreach_addcmul_(u.exp_avg_sqs, grads, grads, 1 - beta2);
    std::vector<at::Tensor> denom = at::_foreach_sqrt(u.exp_avg_sqs);
    at::_foreach_div_(denom, std::sqrt(bias_correction2));
    at::_foreach_add_(denom, options.eps());
    at::_foreach_addcdiv_(u.params, u.exp_avgs, denom, -options.lr() / bias_correction1);
  }
  return {};
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const run::TrainConfig& c,
                                                        const std::vector<std::vector<at::Tensor>>& groups) {
  if (c.optimizer == "sgd") {
    const auto o = torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay);
    std::vector<torch::optim::OptimizerParamGroup> g;
    for (const auto& params : groups) g.emplace_back(params, std::make_unique<torch::optim::SGDOptions>(o));
    return std::make_unique<torch::optim::SGD>(g, o);
  }
  const auto o = torch::optim::AdamOptions(c.lr).weight_decay(c.optimizer == "adamw" ? 0.0 : c.weight_decay);
  std::vector<torch::optim::OptimizerParamGroup> g;
  for (const auto& params : groups) g.emplace_back(params, std::make_unique<torch::optim::AdamOptions>(o));
  if (!core::gpu_lever("foreach-adam")) return std::make_unique<torch::optim::Adam>(g, o);
  return std::make_unique<ForeachAdam>(g, o);
}

void decay_weights(torch::optim::Optimizer& optimizer, double weight_decay) {
  if (weight_decay == 0) return;
  torch::NoGradGuard no_grad;
  for (auto& group : optimizer.param_groups()) {
    std::vector<at::Tensor> params;
    for (auto& p : group.params())
      if (p.grad().defined()) params.push_back(p);
    if (!params.empty()) at::_foreach_mul_(params, 1.0 - group.options().get_lr() * weight_decay);
  }
}

void clear_grads(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params())
      if (p.mutable_grad().defined()) p.mutable_grad().reset();
}

}  // namespace mednet::train
