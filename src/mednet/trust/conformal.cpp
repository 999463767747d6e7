#include "mednet/trust/conformal.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>

#include "mednet/core/error.h"
#include "mednet/metrics/scored_split.h"

namespace mednet::trust {

namespace {

// The threshold that admits every class: scores never exceed 1 (up to rounding).
constexpr double kEveryClass = 2.0;

// Row i's score for class c (multi-label: label l's score for value c in {0, 1}).
double score(const metrics::ScoredSplit& s, int64_t i, int64_t c, int64_t l = 0) {
  if (s.task == data::Task::MultiLabel) return 1 - (c == 1 ? s.p(i, l) : 1 - s.p(i, l));
  if (s.task == data::Task::BinaryClass) return 1 - s.p(i, c);
  double mass = 0;  // APS: every class at least as probable as c
  for (int64_t j = 0; j < s.k; ++j)
    if (s.p(i, j) > s.p(i, c)) mass += s.p(i, j);
  return mass + s.p(i, c);
}

double quantile_threshold(std::vector<double> scores, double coverage) {
  const auto n = static_cast<int64_t>(scores.size());
  const auto rank = static_cast<int64_t>(std::ceil(static_cast<double>(n + 1) * coverage));
  if (rank > n) return kEveryClass;
  std::nth_element(scores.begin(), scores.begin() + (rank - 1), scores.end());
  return scores[static_cast<size_t>(rank - 1)];
}

}  // namespace

ConformalThreshold fit_conformal(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                                 double coverage) {
  MN_CHECK_USAGE(std::isfinite(coverage) && coverage > 0 && coverage < 1,
                 "--coverage must be between 0 and 1 (for example 0.9), got ", coverage);
  const metrics::ScoredSplit s(task, labels, probs);
  MN_CHECK(s.n > 0, "conformal calibration on an empty split");
  ConformalThreshold t;
  t.coverage = coverage;
  t.calibration_size = s.n;
  if (task == data::Task::MultiLabel) {
    t.method = "score per label";
    for (int64_t l = 0; l < s.k; ++l) {
      std::vector<double> scores;
      for (int64_t i = 0; i < s.n; ++i) scores.push_back(score(s, i, s.label(i, l), l));
      t.thresholds.push_back(quantile_threshold(scores, coverage));
    }
    return t;
  }
  t.method = task == data::Task::BinaryClass ? "score" : "aps";
  std::vector<double> scores;
  for (int64_t i = 0; i < s.n; ++i) scores.push_back(score(s, i, s.label(i, 0)));
  t.thresholds.push_back(quantile_threshold(scores, coverage));
  return t;
}

at::Tensor prediction_sets(data::Task task, const at::Tensor& probs, const ConformalThreshold& t) {
  const at::Tensor no_labels =
      at::zeros({probs.size(0), task == data::Task::MultiLabel ? probs.size(1) : 1}, at::kLong);
  const metrics::ScoredSplit s(task, no_labels, probs);
  if (task == data::Task::MultiLabel) {
    MN_CHECK(static_cast<int64_t>(t.thresholds.size()) == s.k, "conformal: ", t.thresholds.size(),
             " thresholds for ", s.k, " labels");
    at::Tensor sets = at::zeros({s.n, s.k, 2}, at::kBool);
    auto a = sets.accessor<bool, 3>();
    for (int64_t i = 0; i < s.n; ++i) {
      for (int64_t l = 0; l < s.k; ++l) {
        for (int64_t c = 0; c < 2; ++c) a[i][l][c] = score(s, i, c, l) <= t.thresholds[l];
        a[i][l][s.p(i, l) > 0.5 ? 1 : 0] = true;  // never empty: the likelier value is in
      }
    }
    return sets;
  }
  MN_CHECK(t.thresholds.size() == 1, "conformal: one threshold expected, got ", t.thresholds.size());
  at::Tensor sets = at::zeros({s.n, s.k}, at::kBool);
  auto a = sets.accessor<bool, 2>();
  for (int64_t i = 0; i < s.n; ++i) {
    int64_t top = 0;
    for (int64_t c = 0; c < s.k; ++c) {
      a[i][c] = score(s, i, c) <= t.thresholds[0];
      if (s.p(i, c) > s.p(i, top)) top = c;
    }
    a[i][top] = true;
  }
  return sets;
}

SetReport evaluate_sets(data::Task task, const at::Tensor& labels_in, const at::Tensor& sets) {
  at::Tensor labels = labels_in.detach().to(at::kCPU).to(at::kLong);
  if (labels.dim() == 1) labels = labels.unsqueeze(1);
  const int64_t n = sets.size(0);
  MN_CHECK(labels.size(0) == n, "conformal: ", labels.size(0), " labels for ", n, " sets");
  SetReport r;
  if (task == data::Task::MultiLabel) {
    const int64_t k = sets.size(1);
    const at::Tensor truth_in = sets.gather(2, labels.unsqueeze(2)).squeeze(2);  // [N, L]
    r.coverage = truth_in.to(at::kDouble).mean().item<double>();
    r.mean_size = sets.to(at::kDouble).sum(2).mean().item<double>();
    for (int64_t l = 0; l < k; ++l) {
      r.class_coverage.push_back(truth_in.select(1, l).to(at::kDouble).mean().item<double>());
      r.class_count.push_back(n);
    }
    return r;
  }
  const at::Tensor y = labels.select(1, 0);
  const at::Tensor truth_in = sets.gather(1, y.unsqueeze(1)).squeeze(1);  // [N]
  r.coverage = truth_in.to(at::kDouble).mean().item<double>();
  r.mean_size = sets.to(at::kDouble).sum(1).mean().item<double>();
  for (int64_t c = 0; c < sets.size(1); ++c) {
    const at::Tensor of_c = y.eq(c);
    const int64_t count = of_c.sum().item<int64_t>();
    r.class_count.push_back(count);
    r.class_coverage.push_back(
        count == 0 ? std::nan("") : truth_in.masked_select(of_c).to(at::kDouble).mean().item<double>());
  }
  return r;
}

CoverageWords coverage_words(data::Task task) {
  if (task == data::Task::MultiLabel)
    return {"a finding's true value (present or absent)", "image-finding pairs", "values per finding's set",
            "finding"};
  const std::string noun = data::output_noun(task);
  return {"the true " + noun, "images", data::output_noun(task, true) + " per set", "true " + noun};
}

}  // namespace mednet::trust
