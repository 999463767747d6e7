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

#include <nlohmann/json_fwd.hpp>

#include "mednet/experiments/experiment_spec.h"
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

/// An experiment file with "robustness": true: `mednet robustness` (seed 0) on every finished run of the
/// arms under out that has no robustness.json yet, written into the run's folder.
void score_experiment_robustness(const ExperimentSpec& e, const std::string& out,
                                 const TrustExperimentOptions& o,
                                 const std::function<void(const std::string&)>& log);

/// summary.md's section for such a file: per arm the mean over its seeds of the clean test AUC, the AUC
/// under corruption and the drop; per comparison a minus b of the drop, seed by seed (paired: the same seed
/// and test pictures), with the mean and its 95% Student-t interval over the seeds. Empty when no run has a
/// robustness.json. json (optional) receives the same numbers.
std::string robustness_comparison_markdown(const ExperimentSpec& e, const std::string& out,
                                           nlohmann::json* json);

}  // namespace mednet::experiments
