// The study report's opening section: every trained arm's test AUC with its 95% interval beside the best
// published row of its dataset (a forest plot and the same as a table), the conclusions a reader came for,
// each linked to the section whose numbers it is written from, and the caveats (preset, seeds, skipped
// arms, stages that did not finish).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/data/catalog.h"
#include "mednet/experiments/stage_sections.h"
#include "mednet/report/benchmarks.h"
#include "mednet/run/metrics_file.h"

namespace mednet::experiments {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr size_t kMostConclusions = 8;

struct ArmPoint {
  std::string stage, label, dataset;
  double auc = std::nan("");
  metrics::Interval ci{std::nan(""), std::nan("")};  ///< of the seed mean
  size_t seeds = 0;
  std::optional<report::BenchmarkRow> best;
};

json read_if_there(const std::string& path) {
  try {
    if (fs::exists(path)) return core::read_json_file(path, "stage results", true);
  } catch (const std::exception&) {
  }
  return json();
}

std::string display(const std::string& flag) {
  try {
    return data::find_dataset(flag).display_name;
  } catch (const std::exception&) {
    return flag;
  }
}

json summary_chart(const std::vector<ArmPoint>& arms) {
  std::vector<ForestRow> rows;
  for (const auto& a : arms)
    rows.push_back({a.stage + ": " + a.label, a.auc, a.ci, a.best ? a.best->auc : std::nan("")});
  return forest_chart("Test AUC of every trained arm, with its 95% interval", "test AUC",
                      "test AUC of the arm", "best published MedMNIST v2 row of its dataset", rows);
}

}  // namespace

void report_study_summary(ReportDoc& doc, const StudySpec& study, const std::string& out,
                          const std::vector<StageOutcome>& stages, const std::string& preset) {
  doc.heading(2, "Summary", "summary");
  std::vector<ArmPoint> arms;
  std::vector<std::pair<std::string, std::string>> findings;  // (sentence, anchor)
  std::vector<std::pair<std::string, std::string>> compared;
  for (const auto& s : study.stages) {
    if (s.kind != StageKind::Train) continue;
    const json summary = read_if_there(out + "/" + s.name + "/summary.json");
    if (!summary.is_object()) continue;
    const ArmPoint* best_arm = nullptr;
    const size_t first = arms.size();
    for (const auto& a : summary.value("arms", json::array())) {
      ArmPoint p;
      p.stage = s.name;
      p.label = a.value("label", a.value("name", "?"));
      p.dataset = a.value("dataset", "");
      p.auc = core::number_at(a, "test_auc_mean");
      p.seeds = a.value("seeds_finished", size_t{0});
      p.ci = run::interval_at(a, "test_auc_ci95");
      p.best = report::best_medmnist_v2_row(p.dataset);
      if (p.seeds == 0 || !std::isfinite(p.auc)) continue;
      arms.push_back(p);
    }
    for (size_t i = first; i < arms.size(); ++i)
      if (!best_arm || arms[i].auc > best_arm->auc) best_arm = &arms[i];
    if (best_arm && best_arm->best) {
      const double d = best_arm->auc - best_arm->best->auc;
      const bool inside = best_arm->ci.lo <= best_arm->best->auc && best_arm->best->auc <= best_arm->ci.hi;
      findings.push_back({s.name + ": the best arm, " + best_arm->label + ", reached test AUC " +
                              metrics::format_with_interval(best_arm->auc, best_arm->ci) + " on " +
                              display(best_arm->dataset) + ", " + core::format_signed(d) +
                              " against the best published " + "MedMNIST v2 row (" + best_arm->best->method +
                              ", " + core::format_fixed(best_arm->best->auc) + ")" +
                              (inside  ? "; the published value lies inside the interval."
                               : d > 0 ? "; above it."
                                       : "; below it."),
                          s.name});
    }
    for (const auto& c : summary.value("comparisons", json::array()))
      if (c.value("missing", "").empty() && c.contains("conclusion"))
        compared.push_back({c["conclusion"].get<std::string>(), s.name});
  }
  if (arms.empty()) {
    doc.gap("summary: no trained arm has finished yet");
    return;
  }
  doc.chart(summary_chart(arms), "", forest_height(arms.size()));
  Table t{{"stage", "arm", "dataset", "seeds", "test AUC (95% interval)", "best published (method)",
           "difference"},
          {},
          {}};
  for (const auto& a : arms) {
    t.add({a.stage, a.label, display(a.dataset), std::to_string(a.seeds),
           metrics::format_with_interval(a.auc, a.ci),
           a.best ? core::format_fixed(a.best->auc) + " (" + a.best->method + ")" : "none published",
           a.best ? core::format_signed(a.auc - a.best->auc) : ""});
  }
  doc.table(t);
  // One comparison per stage first, then the rest, up to the limit.
  std::vector<std::string> stages_said;
  for (const auto& [sentence, anchor] : compared) {
    if (std::find(stages_said.begin(), stages_said.end(), anchor) != stages_said.end()) continue;
    stages_said.push_back(anchor);
    findings.push_back({sentence, anchor});
  }
  for (size_t i = 0; i < findings.size() && i < kMostConclusions; ++i)
    doc.conclusion(findings[i].first, findings[i].second, "see " + findings[i].second);

  std::vector<std::string> caveats = {"Preset " + preset + "."};
  const auto [lo, hi] = std::minmax_element(
      arms.begin(), arms.end(), [](const ArmPoint& a, const ArmPoint& b) { return a.seeds < b.seeds; });
  caveats.push_back(
      lo->seeds == hi->seeds
          ? "Every arm has " + std::to_string(lo->seeds) + " finished seed" + (lo->seeds > 1 ? "s" : "") +
                (lo->seeds == 1 ? "; the intervals are over test images only, not over training runs."
                                : "; the intervals are of the mean over the seeds.")
          : "Arms have between " + std::to_string(lo->seeds) + " and " + std::to_string(hi->seeds) +
                " finished seeds.");
  for (const auto& o : stages) {
    if (o.message.find("skipped on CPU") != std::string::npos)
      caveats.push_back(o.name + ": " + o.message + ".");
    if (o.status == "failed" || o.status == "interrupted" || o.status == "not run")
      caveats.push_back(o.name + " " + o.status + (o.message.empty() ? "" : ": " + o.message) + ".");
  }
  caveats.push_back("How each stage ran is in the appendix at the end.");
  doc.text("Caveats: " + core::join(caveats, " "));
}

}  // namespace mednet::experiments
