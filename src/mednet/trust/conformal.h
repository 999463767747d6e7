#pragma once
// Split conformal prediction sets (Angelopoulos and Bates 2021, "A Gentle Introduction to Conformal
// Prediction"): a threshold on a non-conformity score is taken on a calibration split so that, for data
// exchangeable with it, the true class is in the set with probability at least the chosen coverage.
//   multi-class and ordinal: adaptive prediction sets (APS; Romano et al. 2020), the score of class k the
//     probability mass of the classes at least as probable as k, non-randomised;
//   binary: the plain score 1 - p_k (least ambiguous sets);
//   multi-label: the plain score per label, one threshold per label (each label's set is {0}, {1} or both).
// The threshold is the ceil((n + 1) * coverage)-th smallest calibration score (every class when that
// exceeds n). A set holds each class whose score is at most the threshold, and always the most probable.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/data/catalog.h"

namespace mednet::trust {

struct ConformalThreshold {
  std::string method;              ///< "aps", "score" (binary) or "score per label"
  double coverage = 0.9;           ///< what was asked for
  std::vector<double> thresholds;  ///< one, or one per label (multi-label)
  int64_t calibration_size = 0;
};

struct SetReport {
  double coverage = 0;                 ///< share of rows whose true class is in their set (mean over labels)
  double mean_size = 0;                ///< classes per set (multi-label: per label)
  std::vector<double> class_coverage;  ///< by true class (multi-label: by label); NaN where a class is absent
  std::vector<int64_t> class_count;
};

/// The threshold from a calibration split; coverage must be in (0, 1) (a usage error names it otherwise).
ConformalThreshold fit_conformal(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                                 double coverage);

/// The sets of each row as a bool tensor [N, K] (multi-label: [N, L, 2], column 1 "label present").
at::Tensor prediction_sets(data::Task task, const at::Tensor& probs, const ConformalThreshold& t);

/// How the sets do on a labelled split.
SetReport evaluate_sets(data::Task task, const at::Tensor& labels, const at::Tensor& sets);

/// How a report words a SetReport for the task: what a set holds ("the true class", "the true grade",
/// "a finding's true value (present or absent)"), what coverage counts ("images", "image-finding pairs"),
/// what a set's size counts ("classes per set", "values per finding's set") and the per-class heading
/// ("true class", "true grade", "finding").
struct CoverageWords {
  std::string truth, counted, size, per_class;
};
CoverageWords coverage_words(data::Task task);

}  // namespace mednet::trust
