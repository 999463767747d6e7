#pragma once
// Several CAM methods on the same samples of one run: each method's study goes to OUT/<method>/, and
// methods.md / methods.json put their faithfulness checks side by side, ordered by the deletion check.
#include <functional>
#include <string>
#include <vector>

#include "mednet/explain/cam_study.h"

namespace mednet::explain {

/// Runs run_cam_study once per method (options.out/<method>), then writes options.out/methods.md and
/// methods.json; returns the Markdown. log gets a line per method as it finishes.
std::string compare_cam_methods(const CamStudyOptions& options, const std::vector<std::string>& methods,
                                const std::function<void(const std::string&)>& log = {});

}  // namespace mednet::explain
