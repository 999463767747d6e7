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
/// Adam as ForeachAdam. For adamw it is Adam without weight decay: decay_weights applies AdamW's.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const run::TrainConfig& c,
                                                        const std::vector<std::vector<at::Tensor>>& groups);

/// AdamW's decoupled weight decay (Loshchilov & Hutter 2019), before the optimizer's step: each parameter
/// with a gradient is multiplied by 1 - lr x weight_decay, lr its group's. Adam then steps as usual, so
/// the pair equals torch::optim::AdamW and checkpoints hold Adam's state.
void decay_weights(torch::optim::Optimizer& optimizer, double weight_decay);

/// Drops every parameter's gradient (as PyTorch's zero_grad(set_to_none=True)): backward then writes
/// fresh gradients instead of adding to zeros, one kernel fewer per parameter, the same values.
void clear_grads(torch::optim::Optimizer& optimizer);

}  // namespace mednet::train
