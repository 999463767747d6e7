#pragma once
// Experiment 2C as data: a gallery file {"name", "description", "methods": [...], "entries": [{"name",
// "run", "samples", "select", "layer", "fill"}], "leaderboard": {"entries": [...], "methods": "all"}}.
// Each entry and method is a CAM study in OUT/<entry>/<method>/; the leaderboard's entries get every
// listed method and OUT/<entry>/leaderboard.md (explain/cam_compare.h); gallery.md puts the numbers side
// by side.
#include <functional>
#include <string>

#include "mednet/explain/cam_study.h"

namespace mednet::experiments {

/// Runs every entry and method of the gallery file (base gives the defaults and base.out the folder);
/// log receives each study's report; returns gallery.md's text.
std::string run_cam_gallery(const std::string& config, const explain::CamStudyOptions& base,
                            const std::function<void(const std::string&)>& log);

}  // namespace mednet::experiments
