#pragma once
// An ensemble of finished runs: the mean of their best checkpoints' probabilities on val and test,
// scored like any run and written as a run folder's result files (metrics.json, the standard result
// files) plus ensemble.json, which lists the members with their own scores on the same images.
#include <functional>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "mednet/engine/evaluate.h"
#include "mednet/run/metrics_file.h"

namespace mednet::run {

struct EnsembleOptions {
  std::string root;  ///< folder of the .npz files; empty: the first run's own
  bool check_md5 = true;
  c10::Device device = c10::kCPU;
  /// "none", "flips" (each member's probabilities are its mean over its training flips), or "own": each
  /// member as its own run scored itself (its config's tta).
  std::string tta = "none";
  std::function<void(const std::string&)> progress;  ///< told as each member is scored
  /// When set, each member's probabilities pass through it before they are averaged (mednet ensemble
  /// --calibrated: the member's own temperature from its calibration.json); it returns them and says what
  /// it did in `how`.
  std::function<at::Tensor(const std::string& dir, const at::Tensor& probs, std::string* how)> calibrate;
};

struct EnsembleMember {
  std::string dir;
  std::string model;
  uint64_t seed = 0;
  std::string tta;                   ///< how this member was scored: "none" or "flips"
  std::string calibration = "none";  ///< what calibrate did to its probabilities
  engine::Evaluation val, test;
};

struct Ensemble {
  std::vector<EnsembleMember> members;
  engine::Evaluation val, test;
  RunMetrics metrics;  ///< as written to out/metrics.json
};

/// Scores the ensemble of runs (two or more finished runs of one dataset and size; a mismatch, a run
/// without best.pt, or an out folder that is a run of its own, is a usage error naming the folder) and
/// writes it to out.
Ensemble ensemble_runs(const std::vector<std::string>& runs, const std::string& out,
                       const EnsembleOptions& options);

}  // namespace mednet::run
