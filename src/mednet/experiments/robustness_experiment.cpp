#include "mednet/experiments/robustness_experiment.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/metrics/t_interval.h"
#include "mednet/run/metrics_file.h"
#include "mednet/trust/robustness_run.h"

namespace mednet::experiments {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

trust::RobustnessOptions robustness_options(const TrustExperimentOptions& o, uint64_t seed) {
  trust::RobustnessOptions r;
  r.root = o.root;
  r.check_md5 = o.check_md5;
  r.seed = seed;
  return r;
}

}  // namespace

RobustnessExperiment load_robustness_experiment(const std::string& path) {
  const json j = core::read_json_file(path, "experiment file");
  core::reject_unknown_keys(j, {"name", "description", "seed", "folders"}, path);
  RobustnessExperiment e;
  const char* what = "experiment key";
  core::take(j, "name", e.name, what);
  core::take(j, "description", e.description, what);
  core::take(j, "seed", e.seed, what);
  e.folders = run_folders_of(j, path);
  return e;
}

std::vector<std::string> run_robustness_experiment(const RobustnessExperiment& e, const std::string& out_dir,
                                                   const TrustExperimentOptions& o,
                                                   const std::function<void(const std::string&)>& log) {
  std::vector<std::string> runs;
  for (const auto& folder : e.folders) {
    const std::vector<std::string> found = finished_runs_under(folder);
    if (found.empty()) log("robustness: no finished run under " + folder);
    runs.insert(runs.end(), found.begin(), found.end());
  }
  json entries = json::array();
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string rel = o.relative_to.empty() ? fs::path(runs[i]).filename().string()
                                                  : fs::relative(runs[i], o.relative_to).generic_string();
    log("robustness " + std::to_string(i + 1) + "/" + std::to_string(runs.size()) + ": " + runs[i]);
    trust::RobustnessOptions r = robustness_options(o, e.seed);
    r.progress = [&](int64_t done, int64_t total) {
      if (done % 10 == 0 || done == total)
        log("  " + std::to_string(done) + "/" + std::to_string(total) + " scored");
    };
    const trust::RobustnessResult res = trust::robustness_run(runs[i], out_dir + "/" + rel, r);
    entries.push_back({{"run", rel}, {"dir", rel}, {"robustness", res.summary}});
  }
  const json summary = {
      {"name", e.name}, {"description", e.description}, {"seed", e.seed}, {"runs", entries}};
  fs::create_directories(out_dir);
  core::write_file_atomic(out_dir + "/summary.json", summary.dump(2) + "\n");
  return runs;
}

void score_experiment_robustness(const ExperimentSpec& e, const std::string& out,
                                 const TrustExperimentOptions& o,
                                 const std::function<void(const std::string&)>& log) {
  for (const auto& arm : e.arms) {
    std::vector<std::string> dirs;
    for (uint64_t seed : e.seeds) dirs.push_back(run_dir(out, arm.name, seed));
    if (e.ensemble) dirs.push_back(ensemble_dir(out, arm.name));
    for (const std::string& dir : dirs) {
      if (!run::run_finished(dir) || fs::exists(dir + "/robustness.json")) continue;
      log("robustness: " + dir);
      trust::robustness_run(dir, dir, robustness_options(o, 0));
    }
  }
}

namespace {

struct ArmDrops {
  std::map<uint64_t, std::pair<double, double>> by_seed;  // seed -> (clean AUC, mean AUC drop)
  std::optional<std::pair<double, double>> ensemble;      // the arm's ensemble, when it was scored
};

std::optional<std::pair<double, double>> read_drop(const std::string& dir) {
  const std::string file = dir + "/robustness.json";
  if (!fs::exists(file)) return std::nullopt;
  const json j = core::read_json_file(file, "robustness file");
  return std::make_pair(core::number_at(j["clean"], "auc"), core::number_at(j, "mean_auc_drop"));
}

ArmDrops read_drops(const ExperimentSpec& e, const std::string& out, const std::string& arm) {
  ArmDrops d;
  for (uint64_t seed : e.seeds)
    if (const auto v = read_drop(run_dir(out, arm, seed))) d.by_seed[seed] = *v;
  if (e.ensemble) d.ensemble = read_drop(ensemble_dir(out, arm));
  return d;
}

}  // namespace

std::string robustness_comparison_markdown(const ExperimentSpec& e, const std::string& out, json* summary) {
  std::map<std::string, ArmDrops> drops;
  bool any = false;
  for (const auto& arm : e.arms) any |= !(drops[arm.name] = read_drops(e, out, arm.name)).by_seed.empty();
  if (!any) return "";
  std::ostringstream md;
  md << "\nUnder corruption (mednet robustness on each run's test split: "
     << "every corruption at severities 1-5; "
     << "the drop is the clean AUC minus the mean AUC under corruption; mean over the seeds scored):\n\n"
     << "| arm | seeds | clean test AUC | AUC under corruption | mean AUC drop |\n|---|---|---|---|---|\n";
  json arms = json::array();
  for (const auto& arm : e.arms) {
    const ArmDrops& d = drops[arm.name];
    if (d.by_seed.empty()) continue;
    double clean = 0, drop = 0;
    for (const auto& [seed, v] : d.by_seed) clean += v.first, drop += v.second;
    const auto n = static_cast<double>(d.by_seed.size());
    md << "| " << arm.label << " | " << d.by_seed.size() << " | " << core::format_fixed(clean / n) << " | "
       << core::format_fixed((clean - drop) / n) << " | " << core::format_fixed(drop / n, 4) << " |\n";
    arms.push_back({{"arm", arm.name},
                    {"seeds", d.by_seed.size()},
                    {"clean_auc", clean / n},
                    {"mean_auc_drop", drop / n}});
    if (d.ensemble) {
      const auto [ec, ed] = *d.ensemble;
      md << "| " << arm.label << ", ensemble of its seeds | - | " << core::format_fixed(ec) << " | "
         << core::format_fixed(ec - ed) << " | " << core::format_fixed(ed, 4) << " |\n";
      arms.back()["ensemble"] = {{"clean_auc", ec}, {"mean_auc_drop", ed}};
    }
  }
  json comparisons = json::array();
  std::vector<ComparisonSpec> pairs = e.comparisons;
  if (pairs.empty())
    for (size_t i = 1; i < e.arms.size(); ++i) pairs.push_back({e.arms[i].name, e.arms[0].name});
  for (const auto& c : pairs) {
    std::vector<double> diff;
    std::string per_seed;
    for (const auto& [seed, va] : drops[c.a].by_seed) {
      const auto it = drops[c.b].by_seed.find(seed);
      if (it == drops[c.b].by_seed.end()) continue;
      diff.push_back(va.second - it->second.second);
      per_seed += (per_seed.empty() ? "" : ", ") + std::string("seed ") + std::to_string(seed) + " " +
                  core::format_fixed(diff.back(), 4);
    }
    if (diff.empty()) continue;
    const metrics::MeanInterval t = metrics::t_interval_95(diff);
    const double mean = t.mean;
    const std::string la = find_arm(e, c.a).label, lb = find_arm(e, c.b).label;
    md << "\n- " << la << " minus " << lb << ", mean AUC drop under corruption, paired by seed (" << per_seed
       << "): mean " << core::format_fixed(mean, 4);
    if (std::isfinite(t.low))
      md << ", 95% t interval over the " << diff.size() << " seeds " << core::format_fixed(t.low, 4) << " to "
         << core::format_fixed(t.high, 4) << ": "
         << (t.excludes_zero()
                 ? (mean < 0 ? la + " loses less AUC under corruption."
                             : la + " loses more AUC under corruption.")
                 : "the interval holds 0, so the seeds do not show a difference in robustness.");
    md << "\n";
    comparisons.push_back({{"a", c.a},
                           {"b", c.b},
                           {"per_seed", diff},
                           {"mean", mean},
                           {"ci95", {core::finite_or_null(t.low), core::finite_or_null(t.high)}}});
  }
  if (summary) *summary = {{"arms", arms}, {"comparisons", comparisons}};
  return md.str();
}

}  // namespace mednet::experiments
