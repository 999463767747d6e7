#pragma once
// The float networks that score new pictures for a folder: a trained run (through its own test-time flips),
// or each member of an ensemble folder (mednet ensemble's ensemble.json) as the ensemble scored it (its
// flips, and its own temperature when it was calibrated). `mednet robustness` and `mednet serve` share them.
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "mednet/core/error.h"
#include "mednet/engine/tta.h"
#include "mednet/run/open_run.h"

namespace mednet::trust {

struct ScoringNet {
  std::unique_ptr<run::OpenRun> run;
  engine::FlipSets views;             ///< test-time flips its probabilities are averaged over
  std::optional<double> temperature;  ///< an ensemble member's own temperature, when it was calibrated
};

/// True when dir is an ensemble folder (it has ensemble.json).
bool is_ensemble_folder(const std::string& dir);

/// A run folder as one net with its config's test-time flips.
ScoringNet open_scoring_run(const std::string& dir, const run::OpenRunOptions& options);

/// The members of an ensemble folder, opened with options; only the first loads the dataset (when
/// options.load_data), the others load the model alone. A member of another dataset or size, one without its
/// folder, or a calibrated member whose calibration.json is gone is an error naming dir.
std::vector<ScoringNet> open_ensemble_members(const std::string& dir, const run::OpenRunOptions& options);

/// One net's probabilities (double) of inputs x (uint8 or float [N, C, S...]) in batches: the mean over its
/// views, then its temperature.
at::Tensor net_probabilities(const ScoringNet& net, const at::Tensor& x, c10::Device device, int64_t batch);

/// The mean of the nets' probabilities (any list of ScoringNet or of types derived from it).
template <typename Nets>
at::Tensor mean_probabilities(const Nets& nets, const at::Tensor& x, c10::Device device, int64_t batch) {
  at::Tensor sum;
  for (const ScoringNet& n : nets) {
    const at::Tensor p = net_probabilities(n, x, device, batch);
    sum = sum.defined() ? sum + p : p;
  }
  MN_CHECK(sum.defined(), "no network to score with");
  return sum / static_cast<double>(std::size(nets));
}

}  // namespace mednet::trust
