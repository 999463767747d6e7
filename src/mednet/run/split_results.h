#pragma once
// One evaluated split as a run folder records it: the metrics.json entry (scores with bootstrap
// intervals, per-class AUC, confusion matrix, ROC curves) and the split's standard result file.
#include <string>

#include <ATen/core/Tensor.h>

#include "mednet/engine/evaluate.h"
#include "mednet/run/metrics_file.h"

namespace mednet::run {

/// The seed of every recorded bootstrap, so two runs on one split share their resamples.
constexpr uint64_t kBootstrapSeed = 0;

struct SplitIdentity {
  std::string dataset;  ///< flag, e.g. "retinamnist"
  int size = 28;
  std::string split;  ///< "val" or "test"
  std::string run;    ///< the name after '@' in the result file, e.g. "seed0"
};

/// Describes the split from its evaluation and writes its result file into dir (replacing an older
/// one of the same dataset, size, split and run name; other names, such as test-time flips', stay).
SplitMetrics record_split(const std::string& dir, const SplitIdentity& id, data::Task task,
                          const at::Tensor& labels, const engine::Evaluation& e);

/// The per-sample probabilities of a split a run recorded ([N, K] float64), read from the result
/// file its metrics.json names; an error naming the run when there is none.
at::Tensor read_split_probs(const std::string& dir, const nlohmann::json& metrics, const std::string& split);

}  // namespace mednet::run
