#pragma once
// The study report's section for each kind of stage, read from OUT/<stage>/.
#include <string>
#include <vector>

#include "mednet/experiments/report_doc.h"
#include "mednet/experiments/run_study.h"
#include "mednet/experiments/study_spec.h"

namespace mednet::experiments {

void report_train_stage(ReportDoc& doc, const StageSpec& s, const std::string& out);
void report_cam_stage(ReportDoc& doc, const StageSpec& s, const std::string& out);
/// Experiment 2C's leaderboards (cam_leaderboard_report.cpp), for the entries the gallery file ranks.
void report_cam_leaderboards(ReportDoc& doc, const StageSpec& s, const std::string& out,
                             const nlohmann::json& gallery);
void report_quant_stage(ReportDoc& doc, const StageSpec& s, const std::string& out);
void report_trust_stage(ReportDoc& doc, const StageSpec& s, const std::string& out);
void report_robustness_stage(ReportDoc& doc, const StageSpec& s, const std::string& out);

/// The report's opening section (study_summary.cpp): the forest plot of every trained arm against the best
/// published row, conclusions linked to their sections, and the caveats.
void report_study_summary(ReportDoc& doc, const StudySpec& study, const std::string& out,
                          const std::vector<StageOutcome>& stages, const std::string& preset);

/// The stage's JSON file, with the section's heading and description written from it; null (and a gap)
/// when the file is missing.
nlohmann::json open_section(ReportDoc& doc, const StageSpec& s, const std::string& file);

/// "0.866 (0.812 to 0.915)": a value with its interval from a metrics.json split entry.
std::string value_with_interval(const nlohmann::json& split, const char* key);

}  // namespace mednet::experiments
