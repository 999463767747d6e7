#pragma once
// The experiment's comparisons with honest uncertainty: arm a minus arm b in test AUC and ACC (each arm
// the mean over its finished seeds), with the paired bootstrap over the shared test images, and the
// sentence a reader needs ("not distinguishable at this test-set size").
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mednet/experiments/experiment_report.h"
#include "mednet/metrics/bootstrap.h"

namespace mednet::experiments {

struct ArmComparison {
  const ArmResult* a = nullptr;
  const ArmResult* b = nullptr;
  size_t seeds_a = 0, seeds_b = 0;  ///< finished runs used
  int64_t test_samples = 0;
  metrics::PairedDifference diff;
  std::string missing;  ///< why it could not be computed (empty when it was)
};

/// The comparisons the experiment names; the test labels come from each arm's dataset file (found
/// as the runs found it). A comparison whose arms lack finished runs or result files says why.
std::vector<ArmComparison> compare_arms(const ExperimentSpec& e, const std::vector<ArmResult>& arms);

/// Per arm, the 95% bootstrap intervals of its test AUC and ACC (the mean over its finished seeds, on the
/// same resamples as the comparisons); none for an arm without finished runs or readable result files.
std::vector<std::optional<metrics::ScoreIntervals>> arm_intervals(const std::vector<ArmResult>& arms);

/// "CNN, augmentation against CNN, no augmentation: test AUC +0.016 (95% interval -0.011 to +0.043)
/// and ACC ...: not distinguishable at this test-set size (400 images)."
std::string conclusion(const ArmComparison& c);

nlohmann::json comparisons_json(const std::vector<ArmComparison>& cs);
std::string comparisons_markdown(const std::vector<ArmComparison>& cs);

}  // namespace mednet::experiments
