#pragma once
// The study's trust stage: `mednet trust` (calibration, temperature, conformal sets, out-of-distribution
// flags) on every finished run under the folders an experiment file lists, then one summary of them all.
//
//   {"name", "description", "coverage": 0.9, "folders": ["runs/exp1", "runs/exp2a", ...]}
//
// Each run keeps its own calibration.json, ood.safetensors, trust.json, trust.md and reliability.png (so
// `mednet predict` on a study's run uses them); OUT/summary.json lists every run's trust.json with its
// path relative to the study folder.
#include <functional>

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace mednet::experiments {

struct TrustExperiment {
  std::string name, description;
  double coverage = 0.9;
  std::vector<std::string> folders;
};

TrustExperiment load_trust_experiment(const std::string& path);

struct TrustExperimentOptions {
  std::string root;  ///< folder of the .npz files (empty: each run's own)
  bool check_md5 = true;
  std::string relative_to;  ///< run paths in summary.json are relative to this folder (empty: as found)
};

/// An experiment file's "folders": a non-empty list of paths (a usage error naming path otherwise).
std::vector<std::string> run_folders_of(const nlohmann::json& j, const std::string& path);

/// The finished runs (folders holding metrics.json) under folder, sorted; none when it does not exist.
std::vector<std::string> finished_runs_under(const std::string& folder);

/// Runs trust on every finished run under the folders and writes out_dir/summary.json; returns the runs.
std::vector<std::string> run_trust_experiment(const TrustExperiment& e, const std::string& out_dir,
                                              const TrustExperimentOptions& o,
                                              const std::function<void(const std::string&)>& log);

}  // namespace mednet::experiments
