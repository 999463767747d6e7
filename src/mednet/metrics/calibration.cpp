#include "mednet/metrics/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <ATen/ATen.h>

#include "mednet/core/error.h"
#include "mednet/metrics/scored_split.h"

namespace mednet::metrics {

namespace {

int bin_of(double c, int bins) {
  const int b = static_cast<int>(std::ceil(c * bins)) - 1;
  return std::clamp(b, 0, bins - 1);
}

struct BinSums {
  std::vector<double> conf, hit;
  std::vector<int64_t> count;
  explicit BinSums(int bins) : conf(bins, 0.0), hit(bins, 0.0), count(bins, 0) {}
  void add(double c, double h, int bins) {
    const int b = bin_of(c, bins);
    conf[b] += c;
    hit[b] += h;
    ++count[b];
  }
  // ECE and MCE over the non-empty bins.
  std::pair<double, double> errors() const {
    int64_t n = 0;
    for (auto c : count) n += c;
    double ece = 0, mce = 0;
    for (size_t b = 0; b < count.size(); ++b) {
      if (count[b] == 0) continue;
      const double gap = std::abs(hit[b] - conf[b]) / static_cast<double>(count[b]);
      ece += gap * static_cast<double>(count[b]) / static_cast<double>(n);
      mce = std::max(mce, gap);
    }
    return {ece, mce};
  }
};

double log_clamped(double p) {
  return std::log(std::max(p, kMinProbability));
}

// What the bins hold for row i (label l of a multi-label task): a confidence and whether it came true
// (see calibration.h).
std::pair<double, double> binned(const ScoredSplit& s, int64_t i, int64_t l) {
  if (s.task == data::Task::MultiLabel) return {s.p(i, l), static_cast<double>(s.label(i, l))};
  if (s.task == data::Task::BinaryClass) return {s.p(i, s.k - 1), s.label(i, 0) == s.k - 1 ? 1.0 : 0.0};
  int64_t top = 0;
  for (int64_t c = 1; c < s.k; ++c)
    if (s.p(i, c) > s.p(i, top)) top = c;
  return {s.p(i, top), top == s.label(i, 0) ? 1.0 : 0.0};
}

// The scores of the rows `rows` of a split (a bootstrap resample, or every row).
CalibrationScores scores_of(const ScoredSplit& s, const std::vector<int64_t>& rows, int bins) {
  CalibrationScores out;
  const double n = static_cast<double>(rows.size());
  if (s.task == data::Task::MultiLabel) {
    double ece_sum = 0;
    for (int64_t l = 0; l < s.k; ++l) {
      BinSums sums(bins);
      for (int64_t i : rows) {
        const auto [p, y] = binned(s, i, l);
        sums.add(p, y, bins);
        out.brier += (p - y) * (p - y) / (n * static_cast<double>(s.k));
        out.nll -= (y * log_clamped(p) + (1 - y) * log_clamped(1 - p)) / (n * static_cast<double>(s.k));
      }
      const auto [ece, mce] = sums.errors();
      ece_sum += ece;
      out.mce = std::max(out.mce, mce);
    }
    out.ece = ece_sum / static_cast<double>(s.k);
    return out;
  }
  BinSums sums(bins);
  for (int64_t i : rows) {
    const auto [conf, hit] = binned(s, i, 0);
    sums.add(conf, hit, bins);
    if (s.task == data::Task::BinaryClass) {  // conf is the positive class's probability, hit the label
      out.brier += (conf - hit) * (conf - hit) / n;
      out.nll -= (hit * log_clamped(conf) + (1 - hit) * log_clamped(1 - conf)) / n;
      continue;
    }
    const int64_t y = s.label(i, 0);
    double brier = 0;
    for (int64_t c = 0; c < s.k; ++c) {
      const double t = c == y ? 1.0 : 0.0;
      brier += (s.p(i, c) - t) * (s.p(i, c) - t);
    }
    out.brier += brier / n;
    out.nll -= log_clamped(s.p(i, y)) / n;
  }
  std::tie(out.ece, out.mce) = sums.errors();
  return out;
}

std::vector<int64_t> all_rows(int64_t n) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}

}  // namespace

CalibrationScores calibration_scores(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                                     int bins) {
  MN_CHECK(bins >= 1, "calibration needs at least 1 bin, got ", bins);
  const ScoredSplit s(task, labels, probs);
  MN_CHECK(s.n > 0, "calibration of an empty split");
  return scores_of(s, all_rows(s.n), bins);
}

CalibrationIntervals calibration_intervals(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                                           const BootstrapOptions& o, int bins) {
  const ScoredSplit s(task, labels, probs);
  std::vector<double> ece, mce, brier, nll;
  for (const auto& rows : resample_indices(s.n, o)) {
    const CalibrationScores c = scores_of(s, rows, bins);
    ece.push_back(c.ece);
    mce.push_back(c.mce);
    brier.push_back(c.brier);
    nll.push_back(c.nll);
  }
  const double lo = (1 - o.level) / 2, hi = (1 + o.level) / 2;
  const auto interval = [&](const std::vector<double>& v) {
    return Interval{quantile(v, lo), quantile(v, hi)};
  };
  CalibrationIntervals out;
  out.ece = interval(ece);
  out.mce = interval(mce);
  out.brier = interval(brier);
  out.nll = interval(nll);
  out.resamples = o.resamples;
  return out;
}

std::vector<ReliabilityBin> reliability_bins(data::Task task, const at::Tensor& labels,
                                             const at::Tensor& probs, int bins) {
  const ScoredSplit s(task, labels, probs);
  BinSums sums(bins);
  const int64_t labels_binned = task == data::Task::MultiLabel ? s.k : 1;
  for (int64_t i = 0; i < s.n; ++i) {
    for (int64_t l = 0; l < labels_binned; ++l) {
      const auto [conf, hit] = binned(s, i, l);
      sums.add(conf, hit, bins);
    }
  }
  std::vector<ReliabilityBin> out;
  for (int b = 0; b < bins; ++b) {
    ReliabilityBin r;
    r.lo = static_cast<double>(b) / bins;
    r.hi = static_cast<double>(b + 1) / bins;
    r.count = sums.count[b];
    if (r.count > 0) {
      r.confidence = sums.conf[b] / static_cast<double>(r.count);
      r.accuracy = sums.hit[b] / static_cast<double>(r.count);
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace mednet::metrics
