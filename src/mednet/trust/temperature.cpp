#include "mednet/trust/temperature.h"

#include <cmath>

#include <ATen/ATen.h>

#include "mednet/core/error.h"
#include "mednet/metrics/calibration.h"
#include "mednet/metrics/scored_split.h"

namespace mednet::trust {

namespace {

at::Tensor logits_of(data::Task task, const at::Tensor& probs) {
  const at::Tensor p = probs.detach().to(at::kCPU).to(at::kDouble).clamp(metrics::kMinProbability, 1.0);
  if (task == data::Task::MultiLabel) return p.log() - (1 - p).clamp_min(metrics::kMinProbability).log();
  return p.log();
}

at::Tensor scaled(data::Task task, const at::Tensor& logits, double beta) {
  return task == data::Task::MultiLabel ? at::sigmoid(logits * beta) : at::softmax(logits * beta, 1);
}

// The split's mean NLL at 1 / T = beta, as metrics::calibration_scores computes it (clamped logarithms),
// without the bins: the search evaluates it about 60 times.
double mean_nll(data::Task task, const at::Tensor& z, const at::Tensor& labels, double beta) {
  const at::Tensor p = scaled(task, z, beta);
  const auto log_clamped = [](const at::Tensor& x) { return x.clamp_min(metrics::kMinProbability).log(); };
  if (task == data::Task::MultiLabel || task == data::Task::BinaryClass) {
    const at::Tensor q = task == data::Task::MultiLabel ? p : p.select(1, p.size(1) - 1);
    const at::Tensor y = task == data::Task::MultiLabel
                             ? labels.to(at::kDouble).reshape(p.sizes())
                             : labels.reshape({-1}).eq(p.size(1) - 1).to(at::kDouble);
    return -(y * log_clamped(q) + (1 - y) * log_clamped(1 - q)).mean().item<double>();
  }
  return -log_clamped(p.gather(1, labels.reshape({-1, 1}).to(at::kLong))).mean().item<double>();
}

}  // namespace

double fit_temperature(data::Task task, const at::Tensor& labels, const at::Tensor& probs) {
  const metrics::ScoredSplit checked(task, labels, probs);  // an error names shapes or values that do not fit
  MN_CHECK(checked.n > 0, "a temperature cannot be fitted on an empty split");
  const at::Tensor z = logits_of(task, probs), y = labels.to(at::kCPU);
  const auto nll = [&](double log_t) { return mean_nll(task, z, y, std::exp(-log_t)); };
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
