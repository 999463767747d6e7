// mednet experiment: run every arm of an experiment file over its seeds, then write the comparison.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/report/experiment_report.h"
#include "mednet/report/plot.h"
#include "mednet/train/checkpoint.h"
#include "mednet/train/experiment.h"
#include "training.h"

namespace mednet::app {

namespace fs = std::filesystem;

namespace {

struct ExperimentFlags {
  std::string config, out, root, device;
  std::vector<std::string> arms;
  std::vector<int64_t> seeds;
  int epochs = 0, patience = -1, threads = -1;
  bool skip_md5 = false, report_only = false;
};

void run_experiment(const ExperimentFlags& f, CLI::App& cmd) {
  train::ExperimentSpec e = train::load_experiment(f.config);
  if (!f.seeds.empty()) {
    for (int64_t s : f.seeds) MN_CHECK_USAGE(s >= 0, "--seeds must be >= 0, got ", s);
    e.seeds.assign(f.seeds.begin(), f.seeds.end());
  }
  // Flags that only say how long and where to run apply to every arm.
  auto override = [&](train::TrainConfig& c) {
    if (cmd.count("--epochs")) c.epochs = f.epochs;
    if (cmd.count("--patience")) c.patience = f.patience;
    if (cmd.count("--threads")) c.threads = f.threads;
    if (cmd.count("--device")) c.device = f.device;
    if (cmd.count("--root")) c.root = f.root;
  };
  std::vector<const train::ArmSpec*> selected;
  if (f.arms.empty()) {
    for (const auto& a : e.arms) selected.push_back(&a);
  } else {
    for (const auto& name : f.arms) selected.push_back(&train::find_arm(e, name));
  }
  fs::create_directories(f.out);
  fs::copy_file(f.config, f.out + "/experiment.json", fs::copy_options::overwrite_existing);

  const size_t total = selected.size() * e.seeds.size();
  size_t index = 0;
  bool nan_loss = false;
  for (const auto* arm : f.report_only ? std::vector<const train::ArmSpec*>{} : selected) {
    for (uint64_t seed : e.seeds) {
      ++index;
      const std::string dir = train::run_dir(f.out, arm->name, seed);
      const train::RunFiles files(dir);
      std::cout << "\n=== [" << index << "/" << total << "] " << e.name << ": " << arm->label << ", seed "
                << seed << " -> " << dir << "\n";
      if (report::run_finished(dir)) {
        std::cout << "already finished (metrics.json); skipped\n";
        continue;
      }
      const bool resuming = fs::exists(files.state());
      train::TrainConfig cfg =
          resuming ? train::load_config(files.config()) : train::arm_config(e, *arm, seed);
      override(cfg);
      const RunOutcome outcome = train_and_report(cfg, dir, resuming, f.skip_md5);
      if (outcome.result.reason == train::StopReason::Interrupted) {
        std::cout << "\n" << report::write_experiment_report(e, f.out);
        std::cout << "interrupted; continue the experiment with the same command (finished runs are kept)\n";
        exit_code() = kExitInterrupted;
        return;
      }
      nan_loss = nan_loss || outcome.result.reason == train::StopReason::NanLoss;
    }
  }
  std::cout << "\n" << report::write_experiment_report(e, f.out);
  std::cout << "\noutputs in " << f.out << ": summary.md summary.json"
            << (report::plots_available() ? " curves.png" : "")
            << (report::plots_available() && !e.gradient_flow.empty() ? " gradient_flow.png" : "")
            << ", one run directory per arm and seed\n";
  if (nan_loss) exit_code() = 1;
}

}  // namespace

void add_experiment(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "experiment",
      "Run every arm of an experiment file over its seeds and write the comparison table and plots");
  static ExperimentFlags f;
  cmd->add_option("--config", f.config,
                  "Experiment file with arms, for example experiments/exp2a_cnn2d_retina.json")
      ->required();
  cmd->add_option("--out", f.out, "Folder for the runs (OUT/<arm>/seed<S>) and the report")->required();
  cmd->add_option("--arms", f.arms, "Only these arms (comma-separated names)")->delimiter(',');
  cmd->add_option("--seeds", f.seeds, "Only these seeds (comma-separated), instead of the file's")
      ->delimiter(',');
  cmd->add_option("--epochs", f.epochs, "Maximum epochs of every run");
  cmd->add_option("--patience", f.patience, "Early-stopping patience of every run (0: never stop early)");
  cmd->add_option("--root", f.root,
                  "Folder with MedMNIST .npz files (default: $MEDMNIST_ROOT, then ~/.medmnist)");
  cmd->add_option("--threads", f.threads, "CPU threads (default: every core)");
  cmd->add_option("--device", f.device, "auto, cpu or cuda");
  cmd->add_flag("--skip-md5", f.skip_md5,
                "Do not check files against the official MD5 (own files in the format)");
  cmd->add_flag("--report-only", f.report_only, "Train nothing; rewrite the report from the runs in --out");
  cmd->callback([cmd] { run_experiment(f, *cmd); });
}

}  // namespace mednet::app
