#pragma once
// The report of a multi-arm experiment, read back from its run directories: a table per arm (mean
// and spread over seeds), a per-seed table, learning curves of every arm in one plot, and, when asked
// for, gradient norm against depth for the named arms.
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mednet/experiments/experiment_spec.h"
#include "mednet/run/config.h"
#include "mednet/run/grad_norms.h"
#include "mednet/run/history.h"

namespace mednet::experiments {

struct SeedRun {
  uint64_t seed = 0;
  std::string dir;
  bool finished = false;  ///< metrics.json with test scores
  std::string problem;    ///< why its files could not be read (a damaged metrics.json, say); empty if fine
  nlohmann::json metrics;
  std::vector<run::EpochRecord> history;
};

struct ArmResult {
  const ArmSpec* arm = nullptr;
  run::TrainConfig config;    ///< of the first seed
  std::vector<SeedRun> runs;  ///< one per seed, in the experiment's order
  nlohmann::json ensemble;    ///< metrics.json of OUT/<arm>/ensemble; null when there is none
};

/// Reads every arm's runs under out (missing or unfinished runs are kept, marked unfinished).
std::vector<ArmResult> collect_results(const ExperimentSpec& e, const std::string& out);

/// Mean and sample standard deviation (sd is NaN for fewer than 2 values).
std::pair<double, double> mean_sd(const std::vector<double>& v);

/// How a run trained, from its history: the spread (sample sd) of validation AUC over the last
/// `last` epochs, and the first epoch (and the seconds until its end) at which validation AUC reached
/// `fraction` of the run's best.
struct Dynamics {
  double val_auc_sd_last = std::nan("");
  int epochs_to_fraction = 0;  ///< 0 when there is no history
  double seconds_to_fraction = std::nan("");
};
Dynamics training_dynamics(const std::vector<run::EpochRecord>& history, double fraction = 0.95,
                           int last = 5);

/// summary.json content.
nlohmann::json summary_json(const ExperimentSpec& e, const std::vector<ArmResult>& arms);
/// summary.md content (also printed).
std::string summary_markdown(const ExperimentSpec& e, const std::vector<ArmResult>& arms);

/// Writes summary.md, summary.json, curves.png and (if the experiment names arms for it)
/// gradient_flow.png into out; returns the markdown.
std::string write_experiment_report(const ExperimentSpec& e, const std::string& out);

}  // namespace mednet::experiments
