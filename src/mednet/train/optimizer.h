#pragma once
// The optimizers a run configures, and the per-step calls the epoch loop makes on them.
#include <memory>
#include <vector>

#include <torch/optim/adam.h>
#include <torch/optim/optimizer.h>

#include "mednet/run/config.h"

namespace mednet::train {

/// LibTorch's Adam with the update of a parameter group done by multi-tensor (_foreach_) kernels: the
/// same arithmetic and the same state (checkpoints are interchangeable with torch::optim::Adam), in a
/// handful of kernel launches per group instead of several per parameter. Steps it cannot batch
/// (the first, which creates the state; AMSGrad; parameters at different step counts) go through
/// torch::optim::Adam::step.
class ForeachAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

/// One optimizer over the given groups of parameters (each group's lr is set every epoch): SGD, or
/// Adam as ForeachAdam.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const run::TrainConfig& c,
                                                        const std::vector<std::vector<at::Tensor>>& groups);

/// Drops every parameter's gradient (as PyTorch's zero_grad(set_to_none=True)): backward then writes
/// fresh gradients instead of adding to zeros, one kernel fewer per parameter, the same values.
void clear_grads(torch::optim::Optimizer& optimizer);

}  // namespace mednet::train
