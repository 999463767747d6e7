#pragma once
// `mednet trust --run DIR`: how far to trust a finished run's probabilities, from the val and test scores
// it recorded (its standard result files; nothing is re-run). One temperature is fitted on validation;
// calibration is measured on test before and after it; 90% (or the chosen coverage) conformal sets are
// calibrated on validation with the temperature applied and checked on test. Writes into the run folder:
//   calibration.json  the temperature and the conformal threshold, as readers apply them
//   trust.json        every number below, trust.md the same as tables, reliability.png the diagrams
//   ood.safetensors   the out-of-distribution detector (ood_file.h), when the check runs (ood_run.h)
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mednet/metrics/calibration.h"
#include "mednet/trust/conformal.h"
#include "mednet/trust/ood_run.h"

namespace mednet::trust {

struct TrustOptions {
  double coverage = 0.9;
  std::string root;  ///< folder of the .npz files (empty: the run's own)
  bool check_md5 = true;
  bool ood = true;  ///< also the out-of-distribution check (loads the model; the rest reads result files)
  OodSetOptions ood_sets;
  std::function<void(const std::string&)> progress;
};

struct SplitTrust {
  metrics::CalibrationScores before, after;
  metrics::CalibrationIntervals before_ci, after_ci;
  double auc_before = 0, acc_before = 0, auc_after = 0, acc_after = 0;
};

struct TrustResult {
  double temperature = 1;
  SplitTrust val, test;
  ConformalThreshold conformal;
  SetReport test_sets;
  std::vector<std::string> class_names;
  std::optional<OodReport> ood;
  std::string markdown;  ///< what trust.md holds
  nlohmann::json summary;
};

TrustResult trust_run(const std::string& dir, const TrustOptions& options = {});

}  // namespace mednet::trust
