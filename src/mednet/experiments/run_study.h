#pragma once
// Runs a study's stages in order into OUT/<stage>/, skipping what is complete and resuming what was
// interrupted, then writes OUT/report.html and OUT/report.md. A stage that fails (a missing or
// damaged run, say) is reported and the study goes on with the next; the report marks the gap.
#include <string>
#include <vector>

#include "mednet/experiments/study_spec.h"
#include "mednet/train/trainer.h"

namespace mednet::experiments {

struct StudyOptions {
  std::string preset = "quick";
  std::string device = "auto";
  std::string root;  ///< folder of the .npz files (empty: the default lookup)
  int threads = 0;   ///< 0: the configs' own
  bool check_md5 = true;
  bool report_only = false;  ///< run nothing; rewrite the report from OUT
};

struct StageOutcome {
  std::string name;
  std::string status;  ///< "done", "already complete", "failed", "interrupted", "not run"
  std::string message;
  double seconds = 0;
};

struct StudyOutcome {
  bool interrupted = false;
  bool failed = false;
  std::vector<StageOutcome> stages;
  std::string report_md;  ///< path
  std::string report_html;
  std::vector<std::string> gaps;  ///< what the report could not show, and why
};

StudyOutcome run_study(const StudySpec& study, const std::string& study_file, const std::string& out,
                       const StudyOptions& options, train::TrainObserver& observer);

}  // namespace mednet::experiments
