#include "mednet/metrics/bootstrap.h"

#include <algorithm>
#include <random>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"
#include "mednet/metrics/metrics.h"

namespace mednet::metrics {

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

std::vector<std::vector<int64_t>> resample_indices(int64_t n, const BootstrapOptions& o) {
  MN_CHECK(o.resamples >= 1, "bootstrap: resamples must be >= 1, got ", o.resamples);
  MN_CHECK(n >= 1, "bootstrap: no rows to resample");
  std::mt19937_64 rng(o.seed);
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(o.resamples), std::vector<int64_t>(n));
  for (auto& draw : out) {
    // Multiply-shift keeps the draw identical across standard libraries (unlike the distributions).
    for (auto& i : draw) i = static_cast<int64_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
  }
  return out;
}

namespace {

Interval interval(const std::vector<double>& v, double level) {
  return Interval{quantile(v, (1 - level) / 2), quantile(v, (1 + level) / 2)};
}

double mean_of(const std::vector<Scores>& s, double Scores::*field) {
  double sum = 0;
  for (const auto& x : s) sum += x.*field;
  return sum / static_cast<double>(s.size());
}

}  // namespace

ScoreIntervals bootstrap_scores(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                                const BootstrapOptions& o) {
  const PairedDifference d = paired_bootstrap(task, labels, {probs}, {}, o);
  ScoreIntervals s;
  s.auc = d.auc_ci;
  s.acc = d.acc_ci;
  s.resamples = d.resamples;
  s.undefined_auc = d.undefined_auc;
  return s;
}

PairedDifference paired_bootstrap(data::Task task, const at::Tensor& labels_in,
                                  const std::vector<at::Tensor>& probs_a,
                                  const std::vector<at::Tensor>& probs_b, const BootstrapOptions& o) {
  MN_CHECK(!probs_a.empty(), "paired bootstrap: arm a has no runs");
  const at::Tensor labels = labels_in.to(at::kCPU).to(at::kLong);
  const int64_t n = labels.size(0);
  auto prepare = [&](const std::vector<at::Tensor>& runs) {
    std::vector<at::Tensor> out;
    for (const auto& p : runs) {
      MN_CHECK(p.size(0) == n, "paired bootstrap: a run has ", p.size(0), " score rows for ", n, " labels");
      out.push_back(p.to(at::kCPU).to(at::kDouble));
    }
    return out;
  };
  const std::vector<at::Tensor> a = prepare(probs_a), b = prepare(probs_b);
  // The arm's mean score (over its runs) on the rows idx; b contributes 0 when empty (one-arm use).
  auto arm_scores = [&](const std::vector<at::Tensor>& runs, const at::Tensor* idx) {
    std::vector<Scores> s;
    const at::Tensor y = idx ? labels.index_select(0, *idx) : labels;
    for (const auto& p : runs) s.push_back(evaluate(task, y, idx ? p.index_select(0, *idx) : p));
    return s;
  };
  auto diff = [&](const at::Tensor* idx, double& auc, double& acc) {
    const auto sa = arm_scores(a, idx);
    auc = mean_of(sa, &Scores::auc);
    acc = mean_of(sa, &Scores::acc);
    if (!b.empty()) {
      const auto sb = arm_scores(b, idx);
      auc -= mean_of(sb, &Scores::auc);
      acc -= mean_of(sb, &Scores::acc);
    }
  };
  PairedDifference d;
  diff(nullptr, d.auc, d.acc);
  std::vector<double> aucs, accs;
  for (const auto& draw : resample_indices(n, o)) {
    const at::Tensor idx = torch::tensor(draw, torch::kLong);
    double auc = 0, acc = 0;
    diff(&idx, auc, acc);
    accs.push_back(acc);
    if (std::isnan(auc)) {
      ++d.undefined_auc;
    } else {
      aucs.push_back(auc);
    }
  }
  d.resamples = o.resamples;
  d.auc_ci = interval(aucs, o.level);
  d.acc_ci = interval(accs, o.level);
  return d;
}

std::string format_interval(const Interval& i, bool signed_values, int digits) {
  auto f = [&](double v) {
    return signed_values ? core::format_signed(v, digits) : core::format_fixed(v, digits);
  };
  return f(i.lo) + " to " + f(i.hi);
}

std::string format_with_interval(double v, const Interval& i, int digits) {
  if (!std::isfinite(i.lo) || !std::isfinite(i.hi)) return core::format_fixed(v, digits);
  return core::format_fixed(v, digits) + " (" + format_interval(i, false, digits) + ")";
}

std::string format_intervals(const ScoreIntervals& s) {
  return "AUC " + format_interval(s.auc) + ", ACC " + format_interval(s.acc);
}

}  // namespace mednet::metrics
