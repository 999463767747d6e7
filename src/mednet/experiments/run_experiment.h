#pragma once
// Runs every arm of an experiment file over its seeds (OUT/<arm>/seed<S>/, each a normal run
// directory), skipping finished runs and continuing unfinished ones, then writes the comparison
// report. Stops at the first interrupted run; the same call later goes on from there.
#include <functional>
#include <string>
#include <vector>

#include "mednet/experiments/experiment_spec.h"
#include "mednet/train/trainer.h"

namespace mednet::experiments {

struct ExperimentRunOptions {
  std::vector<std::string> arms;  ///< only these arms (empty: all)
  /// Applied to every run's config (flags that only say how long and where to run).
  std::function<void(run::TrainConfig&)> override_config;
  bool check_md5 = true;
  bool report_only = false;  ///< train nothing; rewrite the report from the runs in out
  /// Where ensembles ("ensemble": true) are scored, and the data folder they read (empty: the runs' own).
  c10::Device device = c10::kCPU;
  std::string root;
};

struct ExperimentOutcome {
  bool interrupted = false;
  bool nan_loss = false;  ///< some run stopped on a non-finite loss
  size_t trained = 0;     ///< runs trained (or continued) by this call; 0 when all were finished
  std::string report;     ///< summary.md
};

/// config_path is copied to out/experiment.json.
ExperimentOutcome run_experiment(const ExperimentSpec& e, const std::string& config_path,
                                 const std::string& out, const ExperimentRunOptions& options,
                                 train::TrainObserver& observer);

}  // namespace mednet::experiments
