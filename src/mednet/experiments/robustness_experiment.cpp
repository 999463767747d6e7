#include "mednet/experiments/robustness_experiment.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/trust/robustness_run.h"

namespace mednet::experiments {

using nlohmann::json;
namespace fs = std::filesystem;

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
    trust::RobustnessOptions r;
    r.root = o.root;
    r.check_md5 = o.check_md5;
    r.seed = e.seed;
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

}  // namespace mednet::experiments
