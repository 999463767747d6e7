#pragma once
// `mednet robustness --run DIR --out OUT`: how a finished run's (or an ensemble folder's) test scores hold up
// under MedMNIST-C's corruptions of its 2D dataset, or CT/MRI artifacts for a 3D one
// (augment/corruption_registry.h), each at severities 1..5, every draw seeded. OUT gets robustness.json (AUC,
// ACC, ECE and MedMNIST-C's balanced error per corruption and severity, the clean scores, the mean drops, the
// parameters used and the rule that scaled them), robustness.md, robustness_auc.png (AUC and ACC against
// severity) and corruptions.png (test pictures, or middle slices, at each severity).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mednet::trust {

struct RobustnessOptions {
  std::string root;  ///< folder of the .npz files (empty: the run's own)
  bool check_md5 = true;
  uint64_t seed = 0;                                          ///< the draws of the random corruptions
  int64_t max_images = 0;                                     ///< score only the first N test images (0: all)
  std::function<void(int64_t done, int64_t total)> progress;  ///< per (corruption, severity) scored
};

struct RobustnessCell {
  std::string corruption;
  int severity = 0;
  double auc = 0, acc = 0, ece = 0, balanced_error = 0;
  std::vector<double> column_auc;  ///< per ColumnRobustness
};

struct CorruptionSummary {
  std::string corruption;
  double mean_auc = 0, auc_drop = 0;  ///< mean over severities; clean AUC minus it
  double mean_acc = 0, acc_drop = 0;
  double balanced_error = 0;           ///< MedMNIST-C's BE: the mean over severities
  double relative_balanced_error = 0;  ///< BE minus the clean model's BE
};

/// One column the AUC averages, for tasks with more than one (each class of a multi-class or ordinal task,
/// each finding of a multi-label one; a binary task's one column is the AUC itself): its clean AUC and its
/// drop under each corruption, the mean over the severities. NaN where the test split lacks the class.
struct ColumnRobustness {
  std::string name;
  double clean_auc = 0;
  std::vector<double> auc_drop;  ///< one per RobustnessResult::corruptions entry
  double mean_auc_drop = 0;      ///< over the corruptions
};

struct RobustnessResult {
  std::string dataset, model;
  bool volumes = false;  ///< a 3D run: the artifacts rather than MedMNIST-C
  int64_t images = 0;
  double clean_auc = 0, clean_acc = 0, clean_ece = 0, clean_balanced_error = 0;
  std::vector<RobustnessCell> cells;
  std::vector<CorruptionSummary> corruptions;
  std::vector<ColumnRobustness> columns;  ///< empty for binary tasks
  std::string column_noun;                ///< what a column is: "class", "grade" or "finding"
  double mean_auc_drop = 0, mean_acc_drop = 0, mean_balanced_error = 0;
  std::vector<std::string> skipped;  ///< corruptions of the registry mednet does not compute
  double seconds = 0;
  nlohmann::json summary;  ///< what robustness.json holds
  std::string markdown;    ///< what robustness.md holds
};

/// run_dir: a finished run, or an ensemble folder (mednet ensemble), whose members score each picture as
/// the ensemble scored them (trust/scoring_nets.h).
RobustnessResult robustness_run(const std::string& run_dir, const std::string& out_dir,
                                const RobustnessOptions& options = {});

}  // namespace mednet::trust
