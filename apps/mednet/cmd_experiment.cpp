// mednet experiment: run every arm of an experiment file over its seeds, then write the comparison.
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "console.h"
#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/experiments/run_experiment.h"
#include "mednet/report/plot.h"

namespace mednet::app {

namespace {

struct ExperimentFlags {
  std::string config, out;
  std::vector<std::string> arms;
  std::vector<int64_t> seeds;
  CommonFlags common;
  RunLengthFlags length;
  bool report_only = false;
};

void run_experiment(const ExperimentFlags& f, CLI::App& cmd) {
  experiments::ExperimentSpec e = experiments::load_experiment(f.config);
  if (!f.seeds.empty()) {
    for (int64_t s : f.seeds) MN_CHECK_USAGE(s >= 0, "--seeds must be >= 0, got ", s);
    e.seeds.assign(f.seeds.begin(), f.seeds.end());
  }
  experiments::ExperimentRunOptions o;
  o.arms = f.arms;
  o.check_md5 = !f.common.skip_md5;
  o.report_only = f.report_only;
  o.device = core::resolve_device(f.common.device);
  o.root = f.common.root;
  o.override_config = [&](run::TrainConfig& c) { apply_run_overrides(cmd, f.common, f.length, c); };
  ConsoleObserver observer;
  const experiments::ExperimentOutcome outcome = experiments::run_experiment(e, f.config, f.out, o, observer);
  std::cout << "\n" << outcome.report;
  if (outcome.interrupted) {
    std::cout << "interrupted; continue the experiment with the same command (finished runs are kept)\n";
    exit_code() = kExitInterrupted;
    return;
  }
  std::cout << "\noutputs in " << f.out << ": summary.md summary.json"
            << (report::plots_available() ? " curves.png" : "")
            << (report::plots_available() && !e.gradient_flow.empty() ? " gradient_flow.png" : "")
            << ", one run directory per arm and seed" << (e.ensemble ? " and each arm's ensemble/" : "")
            << "\n";
  if (outcome.nan_loss) exit_code() = 1;
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
  add_run_length_flags(*cmd, f.length, " of every run");
  add_common_flags(*cmd, f.common, "$MEDMNIST_ROOT, then ~/.medmnist");
  cmd->add_flag("--report-only", f.report_only, "Train nothing; rewrite the report from the runs in --out");
  cmd->callback([cmd] { run_experiment(f, *cmd); });
}

}  // namespace mednet::app
