#include "mednet/trust/temperature.h"

#include <cmath>

#include <ATen/ATen.h>

#include "mednet/core/error.h"
#include "mednet/trust/calibration.h"

namespace mednet::trust {

namespace {

at::Tensor logits_of(data::Task task, const at::Tensor& probs) {
  const at::Tensor p = probs.detach().to(at::kCPU).to(at::kDouble).clamp(kMinProbability, 1.0);
  if (task == data::Task::MultiLabel) return p.log() - (1 - p).clamp_min(kMinProbability).log();
  return p.log();
}

at::Tensor scaled(data::Task task, const at::Tensor& logits, double beta) {
  return task == data::Task::MultiLabel ? at::sigmoid(logits * beta) : at::softmax(logits * beta, 1);
}

}  // namespace

double fit_temperature(data::Task task, const at::Tensor& labels, const at::Tensor& probs) {
  const at::Tensor z = logits_of(task, probs);
  const auto nll = [&](double log_t) {
    return calibration_scores(task, labels, scaled(task, z, std::exp(-log_t))).nll;
  };
  // Golden-section search for the minimum of a unimodal function of log T.
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = std::log(kMinTemperature), b = std::log(kMaxTemperature);
  double c = b - g * (b - a), d = a + g * (b - a);
  double fc = nll(c), fd = nll(d);
  while (b - a > 1e-10) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = nll(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = nll(d);
    }
  }
  return std::exp((a + b) / 2);
}

at::Tensor apply_temperature(data::Task task, const at::Tensor& probs, double temperature) {
  MN_CHECK(std::isfinite(temperature) && temperature > 0, "a temperature must be finite and > 0, got ",
           temperature);
  return scaled(task, logits_of(task, probs), 1.0 / temperature);
}

}  // namespace mednet::trust
