// The report section of a robustness stage, "What corruption does to the scores": per run the clean test
// AUC and its mean drop under MedMNIST-C's corruptions (2D) or CT/MRI artifacts (3D), the drop under each
// corruption, the drop per arm over its seeds, the severity plots and corruption grids, and conclusions
// written from those numbers.
#include <algorithm>
#include <filesystem>
#include <map>

#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/experiments/stage_sections.h"

namespace mednet::experiments {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string three(double v) {
  return core::format_fixed(v, 3);
}

// The arm of a run path: its folder without the trailing seedN.
std::string arm_of(const std::string& run) {
  const fs::path p(run);
  const std::string last = p.filename().string();
  return last.rfind("seed", 0) == 0 ? p.parent_path().generic_string() : run;
}

// An arm's runs: the sums of their clean AUC and mean AUC drop.
struct ArmSums {
  double clean = 0, drop = 0;
  int runs = 0;
};

// For runs whose AUC averages several columns (classes, grades or findings): which column loses the most
// AUC under corruption and which the least, per run, and the one that loses the most in most runs.
void column_section(ReportDoc& doc, const std::vector<json>& runs) {
  std::string noun;
  Table t{{"run", "loses the most (mean AUC drop)", "loses the least (mean AUC drop)"}, {}, {}};
  std::map<std::string, int> most_count;
  for (const auto& r : runs) {
    const json& x = r.at("robustness");
    const json cols = x.value("per_column", json::array());
    const json *most = nullptr, *least = nullptr;
    for (const auto& c : cols) {
      if (!c["mean_auc_drop"].is_number()) continue;
      const double d = c["mean_auc_drop"].get<double>();
      if (!most || d > (*most)["mean_auc_drop"].get<double>()) most = &c;
      if (!least || d < (*least)["mean_auc_drop"].get<double>()) least = &c;
    }
    if (!most || most == least) continue;
    if (noun.empty()) noun = x.value("column_noun", "class");
    ++most_count[most->value("name", "?")];
    t.add({r.value("run", "?"),
           most->value("name", "?") + " (" + three(core::number_at(*most, "mean_auc_drop")) + ")",
           least->value("name", "?") + " (" + three(core::number_at(*least, "mean_auc_drop")) + ")"});
  }
  if (t.rows.empty()) return;
  doc.text("Per " + noun +
           " (one against the rest, as the AUC averages them; each run's robustness.md lists "
           "every " +
           noun + "):");
  doc.table(t);
  const auto top = std::max_element(most_count.begin(), most_count.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; });
  doc.conclusion("The " + noun + " " + top->first + " loses the most test AUC under corruption in " +
                 std::to_string(top->second) + " of " + std::to_string(t.rows.size()) + " runs.");
}

// One group of runs scored under the same corruptions (the 2D or the 3D set).
void group_section(ReportDoc& doc, const std::vector<json>& runs) {
  std::vector<std::string> names;
  for (const auto& c : runs.front().at("robustness").value("corruptions", json::array()))
    names.push_back(c.value("corruption", "?"));
  Table overview{{"run", "clean AUC", "mean AUC under corruption", "mean AUC drop", "mean ACC drop",
                  "balanced error (clean)", "costliest", "mildest"},
                 {},
                 {}};
  std::vector<std::string> header{"run"};
  header.insert(header.end(), names.begin(), names.end());
  Table per{header, {}, {}};
  std::map<std::string, double> drop_sum;
  std::map<std::string, ArmSums> by_arm;
  for (const auto& r : runs) {
    const json& x = r.at("robustness");
    const auto& cs = x.value("corruptions", json::array());
    if (cs.empty()) continue;
    auto worst = cs.begin(), mildest = cs.begin();
    std::vector<std::string> row{r.value("run", "?")};
    for (auto it = cs.begin(); it != cs.end(); ++it) {
      const double d = core::number_at(*it, "auc_drop");
      if (d > core::number_at(*worst, "auc_drop")) worst = it;
      if (d < core::number_at(*mildest, "auc_drop")) mildest = it;
      drop_sum[it->value("corruption", "?")] += d;
      row.push_back(three(d));
    }
    per.add(row);
    const double clean = core::number_at(x["clean"], "auc"), drop = core::number_at(x, "mean_auc_drop");
    overview.add({r.value("run", "?"), three(clean), three(clean - drop), three(drop),
                  three(core::number_at(x, "mean_acc_drop")),
                  three(core::number_at(x, "mean_balanced_error")) + " (" +
                      three(core::number_at(x["clean"], "balanced_error")) + ")",
                  worst->value("corruption", "?") + " " + three(core::number_at(*worst, "auc_drop")),
                  mildest->value("corruption", "?") + " " + three(core::number_at(*mildest, "auc_drop"))});
    ArmSums& a = by_arm[arm_of(r.value("run", "?"))];
    a.clean += clean;
    a.drop += drop;
    a.runs += 1;
  }
  doc.table(overview);
  doc.text("Test AUC lost under each corruption (clean AUC minus the mean over severities 1 to 5):");
  doc.table(per);
  column_section(doc, runs);
  if (drop_sum.empty()) return;
  const auto worst = std::max_element(drop_sum.begin(), drop_sum.end(),
                                      [](const auto& a, const auto& b) { return a.second < b.second; });
  const auto mildest = std::min_element(drop_sum.begin(), drop_sum.end(),
                                        [](const auto& a, const auto& b) { return a.second < b.second; });
  const auto n = static_cast<double>(runs.size());
  doc.conclusion("Averaged over these " + std::to_string(runs.size()) + " runs, " + worst->first +
                 " costs the most test AUC (" + three(worst->second / n) +
                 " on average over its severities) and " + mildest->first + " the least (" +
                 three(mildest->second / n) + ").");
  if (by_arm.size() < 2) return;
  Table arms{{"arm", "runs", "mean clean AUC", "mean AUC drop under corruption"}, {}, {}};
  std::string most_robust, cleanest;
  double best = 1e9, best_clean = -1;
  for (const auto& [arm, a] : by_arm) {
    const double mean_drop = a.drop / a.runs, clean = a.clean / a.runs;
    arms.add({arm, std::to_string(a.runs), three(clean), three(mean_drop)});
    if (mean_drop < best) best = mean_drop, most_robust = arm;
    if (clean > best_clean) best_clean = clean, cleanest = arm;
  }
  doc.table(arms);
  doc.conclusion(
      most_robust + " loses the least AUC under corruption (" + three(best) + " on average over its runs); " +
      (cleanest == most_robust ? "it also has the highest clean AUC (" + three(best_clean) + ")."
                               : cleanest + " has the highest clean AUC (" + three(best_clean) +
                                     "): here robustness and clean accuracy are not won by the same arm."));
}

}  // namespace

void report_robustness_stage(ReportDoc& doc, const StageSpec& s, const std::string& out) {
  const std::string dir = out + "/" + s.name;
  const json j = open_section(doc, s, dir + "/summary.json");
  if (j.is_null()) return;
  const json runs = j.value("runs", json::array());
  if (runs.empty()) {
    doc.gap(s.name + ": no finished run to score");
    return;
  }
  std::vector<json> flat, volumes;
  for (const auto& r : runs) (r.at("robustness").value("volumes", false) ? volumes : flat).push_back(r);
  if (!volumes.empty()) {
    doc.heading(3, "3D runs under CT/MRI artifacts (TorchIO's definitions)");
    group_section(doc, volumes);
  }
  if (!flat.empty()) {
    doc.heading(3, "2D runs under MedMNIST-C's corruptions");
    group_section(doc, flat);
  }
  doc.heading(3, "AUC against severity, and the corruptions on test pictures");
  doc.open_grid();
  for (const auto& r : runs)
    for (const char* png : {"robustness_auc.png", "corruptions.png"}) {
      const std::string rel = s.name + "/" + r.value("dir", "") + "/" + png;
      if (fs::exists(out + "/" + rel)) doc.image(out + "/" + rel, rel, r.value("run", "") + ": " + png, 440);
    }
  doc.close_grid();
}

}  // namespace mednet::experiments
