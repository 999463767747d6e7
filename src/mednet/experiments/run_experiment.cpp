#include "mednet/experiments/run_experiment.h"

#include <filesystem>

#include "mednet/core/folder_lock.h"
#include "mednet/experiments/experiment_report.h"
#include "mednet/experiments/robustness_experiment.h"
#include "mednet/run/config.h"
#include "mednet/run/ensemble.h"
#include "mednet/run/metrics_file.h"
#include "mednet/run/run_files.h"
#include "mednet/train/train_run.h"

namespace mednet::experiments {

namespace fs = std::filesystem;

ExperimentOutcome run_experiment(const ExperimentSpec& e, const std::string& config_path,
                                 const std::string& out, const ExperimentRunOptions& o,
                                 train::TrainObserver& observer) {
  std::vector<const ArmSpec*> selected;
  if (o.arms.empty()) {
    for (const auto& a : e.arms) selected.push_back(&a);
  } else {
    for (const auto& name : o.arms) selected.push_back(&find_arm(e, name));
  }
  const core::FolderLock lock = o.report_only ? core::FolderLock() : core::FolderLock::acquire(out);
  fs::create_directories(out);
  fs::copy_file(config_path, out + "/experiment.json", fs::copy_options::overwrite_existing);

  ExperimentOutcome outcome;
  const size_t total = selected.size() * e.seeds.size();
  size_t index = 0;
  for (const auto* arm : o.report_only ? std::vector<const ArmSpec*>{} : selected) {
    for (uint64_t seed : e.seeds) {
      ++index;
      const std::string dir = run_dir(out, arm->name, seed);
      const run::RunFiles files(dir);
      observer.on_message("\n=== [" + std::to_string(index) + "/" + std::to_string(total) + "] " + e.name +
                          ": " + arm->label + ", seed " + std::to_string(seed) + " -> " + dir);
      if (run::run_finished(dir)) {
        observer.on_message("already finished (metrics.json); skipped");
        continue;
      }
      train::TrainRunOptions t;
      t.resuming = fs::exists(files.state());
      t.check_md5 = o.check_md5;
      run::TrainConfig cfg = t.resuming ? run::load_config(files.config()) : arm_config(e, *arm, seed);
      if (!t.resuming) resolve_teachers(cfg, e, out);
      if (o.override_config) o.override_config(cfg);
      ++outcome.trained;
      const train::TrainResult r = train::train_run(cfg, dir, t, observer);
      if (r.reason == run::StopReason::Interrupted) {
        outcome.interrupted = true;
        outcome.report = write_experiment_report(e, out);
        return outcome;
      }
      outcome.nan_loss = outcome.nan_loss || r.reason == run::StopReason::NanLoss;
    }
  }
  if (e.ensemble) {
    for (const auto* arm : selected) {
      const std::string dir = ensemble_dir(out, arm->name);
      std::vector<std::string> seeds;
      for (uint64_t seed : e.seeds)
        if (run::run_finished(run_dir(out, arm->name, seed))) seeds.push_back(run_dir(out, arm->name, seed));
      if (seeds.size() < 2 || run::run_finished(dir)) continue;
      observer.on_message("\n=== " + e.name + ": " + arm->label + ", ensemble of " +
                          std::to_string(seeds.size()) + " seeds -> " + dir);
      run::EnsembleOptions eo;
      eo.check_md5 = o.check_md5;
      eo.device = o.device;
      eo.root = o.root;
      eo.tta = "own";  // each seed as it scored itself
      eo.progress = [&](const std::string& line) { observer.on_message("scoring " + line); };
      run::ensemble_runs(seeds, dir, eo);
    }
  }
  if (e.robustness && !o.report_only) {
    TrustExperimentOptions t;
    t.root = o.root;
    t.check_md5 = o.check_md5;
    score_experiment_robustness(e, out, t, [&](const std::string& line) { observer.on_message(line); });
  }
  outcome.report = write_experiment_report(e, out);
  return outcome;
}

}  // namespace mednet::experiments
