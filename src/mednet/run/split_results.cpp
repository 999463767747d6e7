#include "mednet/run/split_results.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/metrics/calibration.h"
#include "mednet/metrics/result_file.h"

namespace mednet::run {

namespace fs = std::filesystem;

SplitMetrics record_split(const std::string& dir, const SplitIdentity& id, data::Task task,
                          const at::Tensor& labels, const engine::Evaluation& e) {
  SplitMetrics s;
  s.auc = e.scores.auc;
  s.acc = e.scores.acc;
  s.loss = e.loss;
  s.warnings = e.scores.warnings;
  metrics::BootstrapOptions b;
  b.seed = kBootstrapSeed;
  s.ci = metrics::bootstrap_scores(task, labels, e.probs, b);
  s.bootstrap_seed = b.seed;
  s.per_class_auc = metrics::per_class_auc(task, labels, e.probs);
  s.confusion = metrics::confusion_matrix(task, labels, e.probs);
  s.roc = metrics::roc_curves(task, labels, e.probs);
  s.calibration = metrics::calibration_scores(task, labels, e.probs);
  s.calibration_ci = metrics::calibration_intervals(task, labels, e.probs, b);

  const metrics::ResultFileName name{id.dataset, id.size, id.split, id.run};
  const std::string prefix =
      id.dataset + (id.size == 28 ? "" : "_" + std::to_string(id.size)) + "_" + id.split + "_";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string f = entry.path().filename().string();
    const std::string suffix = "@" + id.run + ".csv";  // only this run's: another scoring keeps its own
    const bool same_run =
        f.size() >= suffix.size() && f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0;
    if (f.rfind(prefix, 0) == 0 && same_run) fs::remove(entry.path(), ec);
  }
  s.result_file = metrics::result_file_name(name, e.scores.auc, e.scores.acc);
  metrics::write_result_file(dir + "/" + s.result_file, e.probs);
  return s;
}

at::Tensor read_split_probs(const std::string& dir, const nlohmann::json& metrics, const std::string& split) {
  const std::string file = metrics.contains(split) ? metrics.at(split).value("result_file", "") : "";
  MN_CHECK(!file.empty(), "run ", dir, ": metrics.json names no result file for the ", split,
           " split (a run written before per-sample scores were kept; evaluate it again with mednet eval)");
  return metrics::read_result_file(dir + "/" + file);
}

}  // namespace mednet::run
