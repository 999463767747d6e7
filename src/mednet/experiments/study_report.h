#pragma once
// The study's one report, read back from its folder: OUT/report.html (self-contained: charts, images,
// tables) and OUT/report.md (the same tables and conclusions for a terminal or a code host). Every
// number comes from the run folders; a stage or run that is missing or damaged is marked as a gap and
// the rest is still reported.
#include <string>
#include <vector>

#include "mednet/experiments/run_study.h"
#include "mednet/experiments/study_spec.h"

namespace mednet::experiments {

struct StudyReport {
  std::string html_path, markdown_path;
  std::vector<std::string> gaps;  ///< what could not be reported, and why
};

StudyReport write_study_report(const StudySpec& study, const std::string& out,
                               const std::vector<StageOutcome>& stages);

}  // namespace mednet::experiments
