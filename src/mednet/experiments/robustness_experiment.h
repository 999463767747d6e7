#pragma once
// The study's robustness stage: `mednet robustness` (MedMNIST-C's corruptions for 2D runs, CT/MRI
// artifacts for 3D ones, severities 1..5) on every finished run under the folders an experiment file lists.
//
//   {"name", "description", "seed": 0, "folders": ["runs/exp1", "runs/exp2a"]}
//
// Each run's robustness.json, robustness.md and pictures go to OUT/<the run's path under the study>/;
// OUT/summary.json lists them with those paths.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mednet/experiments/trust_experiment.h"

namespace mednet::experiments {

struct RobustnessExperiment {
  std::string name, description;
  uint64_t seed = 0;
  std::vector<std::string> folders;
};

RobustnessExperiment load_robustness_experiment(const std::string& path);

/// Scores every finished run under the folders and writes out_dir/summary.json; returns the runs.
/// (TrustExperimentOptions: the data folder, MD5 checks, the folder run paths are relative to.)
std::vector<std::string> run_robustness_experiment(const RobustnessExperiment& e, const std::string& out_dir,
                                                   const TrustExperimentOptions& o,
                                                   const std::function<void(const std::string&)>& log);

}  // namespace mednet::experiments
