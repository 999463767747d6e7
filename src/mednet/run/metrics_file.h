#pragma once
// metrics.json: how a run ended and the scores of its best-validation checkpoint. The Trainer writes
// it when it stops (also when interrupted); a run is finished when it holds test scores and did not
// stop by an interrupt.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mednet/metrics/bootstrap.h"
#include "mednet/metrics/calibration.h"
#include "mednet/metrics/per_class.h"

namespace mednet::run {

/// How a run ended.
enum class StopReason { Completed, EarlyStopped, Interrupted, NanLoss };
std::string stop_reason_name(StopReason r);

/// Scores of one split as metrics.json holds them.
struct SplitMetrics {
  double auc = 0, acc = 0, loss = 0;
  std::vector<std::string> warnings;
  /// From the split's per-sample predictions (absent in runs written before they were recorded):
  std::optional<metrics::ScoreIntervals> ci;  ///< bootstrap 95% intervals
  uint64_t bootstrap_seed = 0;
  std::vector<double> per_class_auc;
  std::vector<std::vector<int64_t>> confusion;  ///< [true][predicted]; empty for multi-label
  std::vector<metrics::RocCurve> roc;
  /// ECE, MCE, Brier and NLL of the split's probabilities (metrics/calibration.h) with bootstrap intervals
  /// drawn as AUC's are.
  std::optional<metrics::CalibrationScores> calibration;
  metrics::CalibrationIntervals calibration_ci;
  std::string result_file;  ///< the standard result file in the run folder, by name
};

struct RunMetrics {
  std::string dataset;
  int size = 28;
  std::string model;
  uint64_t seed = 0;
  int epochs_run = 0;
  int best_epoch = 0;
  int64_t params = 0;
  double train_seconds = 0;
  std::string stop_reason = "completed";
  int threads = 0;
  std::string device;
  std::string data_file;
  std::string md5;
  std::string backbone = "random-init";
  int64_t trainable_params = 0;
  bool feature_cache = false;
  std::string selection = "checkpoint with the best validation AUC";  ///< how val and test's model was chosen
  std::optional<SplitMetrics> val, test;  ///< of the best-validation checkpoint; absent without one
};

nlohmann::json metrics_json(const RunMetrics& m);
/// {"ece", "mce", "brier", "nll", "bins"} and, with intervals that were drawn, "ci95" of each and its seed:
/// the calibration entry of metrics.json and of trust.json.
nlohmann::json calibration_json(const metrics::CalibrationScores& c, const metrics::CalibrationIntervals* ci,
                                uint64_t seed);
RunMetrics metrics_from_json(const nlohmann::json& j);
/// The interval [lo, hi] held at parent[key] (a 95% interval as the project's JSON files write them);
/// NaN ends where it is absent, null or not a pair.
metrics::Interval interval_at(const nlohmann::json& parent, const char* key);
/// Writes metrics.json atomically.
void write_metrics(const std::string& path, const RunMetrics& m);
/// metrics.json as JSON; a damaged file is an error naming it.
nlohmann::json read_metrics_json(const std::string& path);
/// True when the JSON of a metrics.json has test scores and the run was not interrupted.
bool metrics_finished(const nlohmann::json& metrics);
/// True when the run directory holds a finished run.
bool run_finished(const std::string& dir);

}  // namespace mednet::run
