#pragma once
// ood.safetensors in a run folder (written by mednet trust, read by mednet predict): what an input is
// compared with to say whether it is like the training data. Tensors "means" [M, D] and "precision"
// [D, D] (float64: the Mahalanobis fit on the training split); metadata "thresholds" (JSON: each score's
// threshold, chosen on validation so that pass_rate of it passes), "pass_rate", "fitted_on",
// "fitted_size". Writer and reader live together; the reader refuses a file whose numbers are missing,
// not finite or of shapes that do not fit, with an error naming the file.
#include <map>
#include <optional>
#include <string>

#include "mednet/trust/ood.h"

namespace mednet::trust {

/// The default score of `mednet predict`: the one with the best mean AUROC over the study's models
/// (README, "Out-of-distribution flags").
inline constexpr const char* kDefaultOodScore = "mahalanobis";

struct OodDetector {
  MahalanobisFit fit;
  std::map<std::string, double> thresholds;  ///< one per kOodScores
  double pass_rate = kOodPassRate;
  std::string fitted_on = "val";
  int64_t fitted_size = 0;
};

void write_ood_file(const std::string& path, const OodDetector& d);

/// The file; nullopt when there is none.
std::optional<OodDetector> read_ood_file(const std::string& path);

/// Whether each input [N] passes the named score's threshold (scores from ood_score).
at::Tensor ood_passes(const OodDetector& d, const std::string& score, const at::Tensor& scores);

}  // namespace mednet::trust
