// mednet ensemble --runs DIR... --out OUT: the mean of finished runs' probabilities, scored on val and test.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "console.h"
#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/data/catalog.h"
#include "mednet/report/benchmarks.h"
#include "mednet/run/config.h"
#include "mednet/run/ensemble.h"
#include "mednet/run/run_files.h"
#include "mednet/trust/calibration_file.h"
#include "mednet/trust/temperature.h"

namespace mednet::app {

void add_ensemble(CLI::App& app) {
  auto* cmd = app.add_subcommand("ensemble", "Average finished runs' probabilities and score the ensemble");
  static std::vector<std::string> runs;
  static std::string out, tta = "none";
  static CommonFlags common;
  cmd->add_option("--runs", runs, "Run directories (two or more, one dataset and size)")->required();
  cmd->add_option("--out", out, "Folder for the ensemble's metrics.json, result files and ensemble.json")
      ->required();
  cmd->add_option("--tta", tta,
                  "none (default), flips (each run's mean over its training flips), or own (each run as it "
                  "scored itself)")
      ->check(CLI::IsMember({"none", "flips", "own"}));
  static bool calibrated = false;
  cmd->add_flag("--calibrated", calibrated,
                "Scale each run's probabilities by its own temperature (its calibration.json, from mednet "
                "trust) before averaging");
  add_common_flags(*cmd, common, "the first run's own");
  cmd->callback([] {
    const c10::Device device = core::resolve_device(common.device);
    core::set_threads(common.thread_count(), device);
    run::EnsembleOptions o;
    o.root = common.root;
    o.check_md5 = !common.skip_md5;
    o.device = device;
    o.tta = tta;
    o.progress = [](const std::string& line) { std::cout << "scoring " << line << "\n" << std::flush; };
    if (calibrated) {
      for (const auto& dir : runs)  // every member's file is checked before any is scored
        MN_CHECK_USAGE(std::filesystem::exists(dir + "/calibration.json"), dir,
                       " has no calibration.json; run `mednet trust --run ", dir, "` first");
      o.calibrate = [](const std::string& dir, const at::Tensor& probs, std::string* how) {
        const run::TrainConfig c = run::load_config(run::RunFiles(dir).config());
        const data::DatasetInfo& info = data::find_dataset(c.dataset);
        const auto cal =
            trust::read_calibration_file(dir + "/calibration.json", info.task, info.num_outputs());
        MN_CHECK(cal.has_value(), dir, "/calibration.json disappeared");
        *how = "temperature " + core::format_fixed(cal->temperature, 4) + " from calibration.json";
        return trust::apply_temperature(info.task, probs, cal->temperature);
      };
    }
    const run::Ensemble e = run::ensemble_runs(runs, out, o);
    const auto row = [](const std::string& name, const engine::Evaluation& val,
                        const engine::Evaluation& test) {
      std::cout << "| " << name << " | " << core::format_fixed(val.scores.auc) << " | "
                << core::format_fixed(val.scores.acc) << " | " << core::format_fixed(test.scores.auc) << " | "
                << core::format_fixed(test.scores.acc) << " |\n";
    };
    std::cout << "\n| run | val AUC | val ACC | test AUC | test ACC |\n|---|---|---|---|---|\n";
    for (const auto& m : e.members)
      row(m.dir + (m.calibration == "none" ? "" : " (" + m.calibration + ")"), m.val, m.test);
    row("ensemble of " + std::to_string(e.members.size()), e.val, e.test);
    if (e.metrics.test && e.metrics.test->ci)
      std::cout << "test 95% bootstrap intervals: " << metrics::format_intervals(*e.metrics.test->ci) << "\n";
    for (const auto& w : e.test.scores.warnings) std::cout << "warning: " << w << "\n";
    std::cout << "written: " << out << "/metrics.json, " << out << "/ensemble.json, " << out << "/"
              << e.metrics.test->result_file << "\n\n"
              << report::comparison_table(e.metrics.dataset,
                                          "ensemble of " + std::to_string(e.members.size()),
                                          e.test.scores.auc, e.test.scores.acc);
  });
}

}  // namespace mednet::app
