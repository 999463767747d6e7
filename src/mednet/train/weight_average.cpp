#include "mednet/train/weight_average.h"

#include <algorithm>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/models/weights.h"

namespace mednet::train {

WeightAverage::WeightAverage(torch::nn::Module& model, double decay) : decay_(decay) {
  MN_CHECK(decay > 0 && decay < 1, "weight average decay must be between 0 and 1, got ", decay);
  torch::NoGradGuard no_grad;
  for (const auto& t : models::module_tensors(model)) {
    model_tensors_.push_back(t.value());
    average_.push_back(t.value().detach().clone());
  }
}

double WeightAverage::next_decay() const {
  const auto t = static_cast<double>(updates_);
  return std::min(decay_, (1 + t) / (10 + t));
}

void WeightAverage::update() {
  torch::NoGradGuard no_grad;
  const double d = next_decay();
  for (size_t i = 0; i < average_.size(); ++i) {
    if (at::isFloatingType(average_[i].scalar_type())) {
      average_[i].lerp_(model_tensors_[i].detach(), 1 - d);
    } else {
      average_[i].copy_(model_tensors_[i]);
    }
  }
  ++updates_;
}

void WeightAverage::swap() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < average_.size(); ++i) {
    const at::Tensor mine = model_tensors_[i].detach().clone();
    model_tensors_[i].detach().copy_(average_[i]);
    average_[i].copy_(mine);
  }
}

}  // namespace mednet::train
