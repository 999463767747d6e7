#include "mednet/experiments/trust_experiment.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/run/metrics_file.h"
#include "mednet/trust/trust_run.h"

namespace mednet::experiments {

using nlohmann::json;
namespace fs = std::filesystem;

TrustExperiment load_trust_experiment(const std::string& path) {
  const json j = core::read_json_file(path, "experiment file");
  core::reject_unknown_keys(j, {"name", "description", "coverage", "folders"}, path);
  TrustExperiment e;
  const char* what = "experiment key";
  core::take(j, "name", e.name, what);
  core::take(j, "description", e.description, what);
  core::take(j, "coverage", e.coverage, what);
  MN_CHECK_USAGE(std::isfinite(e.coverage) && e.coverage > 0 && e.coverage < 1, path,
                 ": coverage must be between 0 and 1 (for example 0.9), got ", e.coverage);
  e.folders = run_folders_of(j, path);
  return e;
}

std::vector<std::string> run_folders_of(const json& j, const std::string& path) {
  MN_CHECK_USAGE(j.contains("folders") && j["folders"].is_array() && !j["folders"].empty(), path,
                 ": 'folders' must list at least one folder of runs");
  std::vector<std::string> folders;
  for (const auto& f : j["folders"]) {
    MN_CHECK_USAGE(f.is_string() && !f.get<std::string>().empty(), path, ": each folder must be a path, got ",
                   f.dump());
    folders.push_back(f.get<std::string>());
  }
  return folders;
}

std::vector<std::string> finished_runs_under(const std::string& folder) {
  std::vector<std::string> runs;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return runs;
  for (auto it = fs::recursive_directory_iterator(folder, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) break;
    if (it->is_directory(ec) && run::run_finished(it->path().string())) {
      runs.push_back(it->path().string());
      it.disable_recursion_pending();  // a run's own folders are not runs
    }
  }
  std::sort(runs.begin(), runs.end());
  return runs;
}

std::vector<std::string> run_trust_experiment(const TrustExperiment& e, const std::string& out_dir,
                                              const TrustExperimentOptions& o,
                                              const std::function<void(const std::string&)>& log) {
  std::vector<std::string> runs;
  for (const auto& folder : e.folders) {
    const std::vector<std::string> found = finished_runs_under(folder);
    if (found.empty()) log("trust: no finished run under " + folder);
    runs.insert(runs.end(), found.begin(), found.end());
  }
  json summary = {{"name", e.name}, {"description", e.description}, {"coverage", e.coverage}};
  json entries = json::array();
  for (size_t i = 0; i < runs.size(); ++i) {
    log("trust " + std::to_string(i + 1) + "/" + std::to_string(runs.size()) + ": " + runs[i]);
    trust::TrustOptions t;
    t.coverage = e.coverage;
    t.root = o.root;
    t.check_md5 = o.check_md5;
    t.progress = [&](const std::string& line) { log("  " + line); };
    const trust::TrustResult r = trust::trust_run(runs[i], t);
    const std::string rel =
        o.relative_to.empty() ? runs[i] : fs::relative(runs[i], o.relative_to).generic_string();
    entries.push_back({{"run", rel}, {"trust", r.summary}});
  }
  summary["runs"] = entries;
  fs::create_directories(out_dir);
  core::write_file_atomic(out_dir + "/summary.json", summary.dump(2) + "\n");
  return runs;
}

}  // namespace mednet::experiments
