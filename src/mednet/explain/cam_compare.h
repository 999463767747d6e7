#pragma once
// Several explanation methods on the same samples of one run: each method's study goes to OUT/<method>/,
// and leaderboard.md / leaderboard.json put their faithfulness checks side by side, one row per method,
// with percentile bootstrap intervals over the samples.
#include <functional>
#include <string>
#include <vector>

#include "mednet/explain/cam_study.h"

namespace mednet::explain {

/// Runs run_cam_study once per method (options.out/<method>), then writes options.out/leaderboard.md and
/// leaderboard.json; returns the Markdown. log gets a line per method as it finishes.
std::string compare_cam_methods(const CamStudyOptions& options, const std::vector<std::string>& methods,
                                const std::function<void(const std::string&)>& log = {});

}  // namespace mednet::explain
