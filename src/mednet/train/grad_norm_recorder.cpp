#include "mednet/train/grad_norm_recorder.h"

#include <cmath>

#include "mednet/run/grad_norms.h"

namespace mednet::train {

GradNormRecorder::GradNormRecorder(models::ClassifierImpl& model) {
  for (const auto& p : model.named_parameters()) {
    if (p.value().dim() < 2 || p.key().find("downsample") != std::string::npos) continue;
    names_.push_back(p.key());
    params_.push_back(p.value());
  }
  sums_.assign(names_.size(), 0);
}

void GradNormRecorder::add_step() {
  std::vector<double> norms(params_.size(), std::nan(""));
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].grad().defined()) norms[i] = params_[i].grad().norm().item<double>();
  }
  if (first_.empty()) first_ = norms;
  for (size_t i = 0; i < norms.size(); ++i) sums_[i] += norms[i];
  ++steps_;
}

void GradNormRecorder::flush(int epoch, const std::string& path) {
  if (epoch == 1 && !first_.empty()) run::append_grad_norms(path, 0, {names_, first_});
  if (steps_ > 0) {
    std::vector<double> mean = sums_;
    for (double& v : mean) v /= static_cast<double>(steps_);
    run::append_grad_norms(path, epoch, {names_, mean});
  }
  sums_.assign(names_.size(), 0);
  steps_ = 0;
}

}  // namespace mednet::train
