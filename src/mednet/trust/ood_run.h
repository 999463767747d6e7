#pragma once
// A run's out-of-distribution check: features of its training, validation and test splits and of the
// out-of-distribution sets (ood_sets.h), the Mahalanobis fit on training, each score's threshold on
// validation, and how well each score tells the run's test split from each set (AUROC, FPR at 95% TPR)
// and what share of each set the thresholds flag. mednet trust writes it into trust.json and trust.md.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "mednet/run/open_run.h"
#include "mednet/trust/ood_file.h"
#include "mednet/trust/ood_sets.h"

namespace mednet::trust {

struct OodRow {
  std::string set, source;
  int64_t images = 0;
  std::map<std::string, Separation> separation;  ///< by score: the run's test split against this set
  std::map<std::string, double> flagged;         ///< by score: the share below the validation threshold
};

struct OodReport {
  OodDetector detector;
  std::map<std::string, double> test_flagged;  ///< by score: the share of the run's own test split flagged
  std::vector<OodRow> rows;
  std::map<std::string, double> mean_auroc;  ///< by score, over the rows
  std::vector<std::string> skipped;          ///< other files that could not be read, with why
  nlohmann::json summary;
  std::string markdown;
};

/// r must have its data and model loaded.
OodReport measure_ood(run::OpenRun& r, const c10::Device& device, const OodSetOptions& o = {},
                      const std::function<void(const std::string&)>& progress = {});

}  // namespace mednet::trust
