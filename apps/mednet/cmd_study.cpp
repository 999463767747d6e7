// mednet study: the whole study (experiments 1, 2A-2D and 3) in one command, then one report.
#include <cmath>
#include <iostream>
#include <string>

#include "commands.h"
#include "common_flags.h"
#include "console.h"
#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/experiments/run_study.h"

namespace mednet::app {

void add_study(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "study", "Run every stage of the study file (training, Grad-CAM, quantization) and write one report");
  static std::string config = "experiments/study.json", out, preset = "quick";
  static CommonFlags common;
  static std::string dataset_2d, dataset_3d;
  static bool report_only = false;
  cmd->add_option("--config", config, "Study file")->capture_default_str();
  cmd->add_option("--out", out, "Folder for every stage (OUT/<stage>/) and the report")->required();
  cmd->add_option("--preset", preset, "quick (one seed, few epochs) or full (the experiment files' settings)")
      ->capture_default_str();
  cmd->add_option(
      "--dataset-2d", dataset_2d,
      "The 2D dataset of Experiments 2A-2D and 3 instead of the study file's (a flag: chestmnist, "
      "breastmnist, ...)");
  cmd->add_option("--dataset-3d", dataset_3d,
                  "The 3D dataset of Experiments 1 and 3 instead of the study file's (nodulemnist3d, "
                  "vesselmnist3d, ...)");
  cmd->add_flag("--report-only", report_only, "Run nothing; rewrite report.html and report.md from --out");
  add_common_flags(*cmd, common, "$MEDMNIST_ROOT, then ~/.medmnist");
  cmd->callback([] {
    const experiments::StudySpec study =
        experiments::with_datasets(experiments::load_study(config), dataset_2d, dataset_3d);
    core::set_threads(common.thread_count(), core::resolve_device(common.device));
    experiments::StudyOptions o;
    o.preset = preset;
    o.device = common.device;
    o.root = common.root;
    o.threads = common.threads > 0 ? common.threads : 0;
    o.check_md5 = !common.skip_md5;
    o.report_only = report_only;
    ConsoleObserver observer;
    const experiments::StudyOutcome r = experiments::run_study(study, config, out, o, observer);
    std::cout << "\nstudy " << out << ":\n";
    for (const auto& s : r.stages) {
      // A stage finished by a call that was stopped before recording its time has no seconds (NaN).
      std::cout << "  " << s.name << ": " << s.status << " ("
                << (std::isfinite(s.seconds) ? core::format_fixed(s.seconds, 0) + " s" : "time not recorded")
                << ")" << (s.message.empty() ? "" : " - " + s.message) << "\n";
    }
    for (const auto& g : r.gaps) std::cout << "gap in the report: " << g << "\n";
    std::cout << "report: " << r.report_html << " (open it in a browser; it needs no network) and "
              << r.report_md << "\n";
    if (r.interrupted) {
      std::cout << "interrupted; the same command continues where it stopped\n";
      exit_code() = kExitInterrupted;
    } else if (r.failed) {
      exit_code() = 1;
    }
  });
}

}  // namespace mednet::app
