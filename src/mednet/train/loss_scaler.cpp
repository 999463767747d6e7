#include "mednet/train/loss_scaler.h"

#include <vector>

#include <torch/torch.h>

namespace mednet::train {

LossScaler::LossScaler(const c10::Device& device)
    : scale_(torch::full({1}, 65536.0, torch::TensorOptions().dtype(torch::kFloat).device(device))),
      growth_tracker_(torch::zeros({1}, torch::TensorOptions().dtype(torch::kInt).device(device))) {}

bool LossScaler::unscale(torch::optim::Optimizer& optimizer) {
  std::vector<at::Tensor> grads;
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params())
      if (p.grad().defined()) grads.push_back(p.mutable_grad());
  at::Tensor found_inf = torch::zeros({1}, scale_.options());
  const at::Tensor inv_scale = scale_.reciprocal();
  if (!grads.empty()) at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale);
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf, 2.0, 0.5, 2000);
  return found_inf.item<float>() == 0;
}

}  // namespace mednet::train
