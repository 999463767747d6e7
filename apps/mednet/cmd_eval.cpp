// mednet eval --run DIR: re-evaluate a saved run's best checkpoint (or an int8 model directory).
#include <filesystem>
#include <iostream>
#include <optional>

#include "commands.h"
#include "common_flags.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/engine/evaluate.h"
#include "mednet/quant/quantize_run.h"
#include "mednet/report/benchmarks.h"
#include "mednet/run/open_run.h"
#include "mednet/run/split_results.h"
#include "mednet/trust/calibration_file.h"

namespace mednet::app {

void add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a saved run's best checkpoint");
  static std::string run_dir, split_name = "test", tta = "none";
  static CommonFlags common;
  cmd->add_option("--run", run_dir, "Run directory written by mednet train")->required();
  cmd->add_option("--split", split_name, "val or test")->check(CLI::IsMember({"train", "val", "test"}));
  cmd->add_option("--tta", tta,
                  "none (default) or flips: the mean of the probabilities over the flips the run's training "
                  "augmentation uses")
      ->check(CLI::IsMember({"none", "flips"}));
  static bool calibrated = false;
  cmd->add_flag("--calibrated", calibrated,
                "Also score the probabilities with the run's calibration.json applied (mednet trust): "
                "calibration before and after, the conformal sets' coverage, and their own result file");
  add_common_flags(*cmd, common, "the run's own");
  cmd->callback([] {
    const c10::Device device = core::resolve_device(common.device);
    core::set_threads(common.thread_count(), device);
    // An int8 directory (mednet quantize) holds model_int8.safetensors instead of best.pt; it runs on the
    // CPU.
    const bool int8 = std::filesystem::exists(run::RunFiles(run_dir).int8_model());
    run::OpenRunOptions o;
    o.root = common.root;
    o.check_md5 = !common.skip_md5;
    o.load_model = !int8;
    o.device = device;
    const run::OpenRun r = run::open_run(run_dir, o);
    const auto& info = *r.info;
    const data::Split split = data::parse_split(split_name);
    const data::SplitData& data = r.data.split(split);
    const engine::FlipSets views = engine::tta_views(tta, r.config.augment);
    std::optional<trust::CalibrationFile> cal;
    if (calibrated) {
      MN_CHECK_USAGE(!int8, "--calibrated is for float runs; ", run_dir, " holds an int8 model");
      cal = trust::read_calibration_file(r.files.dir + "/calibration.json", info.task, info.num_outputs());
      MN_CHECK_USAGE(cal.has_value(), run_dir, " has no calibration.json; write it with mednet trust --run ",
                     run_dir);
    }
    MN_CHECK_USAGE(!int8 || views.empty(), "--tta flips is for float runs; ", run_dir,
                   " holds an int8 model");
    const engine::Evaluation e =
        int8 ? quant::evaluate_int8(r.files.int8_model(), data, info.task, r.config.eval_batch_size)
             : engine::evaluate_model(*r.model, data, info.task, device, r.config.eval_batch_size, views);
    // Test-time flips get a result file of their own beside the run's.
    const run::SplitIdentity id{info.flag, r.config.size, split_name,
                                "seed" + std::to_string(r.config.seed) + (views.empty() ? "" : "-tta")};
    const run::SplitMetrics m = run::record_split(run_dir, id, info.task, data.labels, e);
    std::cout << run_dir << " (" << r.config.model.name << (int8 ? " int8" : "") << " on "
              << info.display_name << " " << r.config.size << ", seed " << r.config.seed << ")\n"
              << split_name
              << (views.empty() ? "" : " (mean over " + std::to_string(views.size()) + " flipped views)")
              << ": " << core::format_scores(e.scores.auc, e.scores.acc) << "  loss " << e.loss << "  ("
              << data.size() << " samples)\n"
              << "95% bootstrap intervals (" << m.ci->resamples
              << " resamples): " << metrics::format_intervals(*m.ci) << "\nper-sample scores: " << run_dir
              << "/" << m.result_file << "\n";
    if (m.calibration) {
      std::cout << "calibration (" << metrics::kCalibrationBins << " bins): ECE "
                << metrics::format_with_interval(m.calibration->ece, m.calibration_ci.ece, 4) << ", MCE "
                << core::format_fixed(m.calibration->mce, 4) << ", Brier "
                << metrics::format_with_interval(m.calibration->brier, m.calibration_ci.brier, 4) << ", NLL "
                << metrics::format_with_interval(m.calibration->nll, m.calibration_ci.nll, 4) << "\n";
    }
    for (const auto& w : e.scores.warnings) std::cout << "warning: " << w << "\n";
    if (cal) {
      const trust::CalibratedSplit c = trust::apply_calibration(info.task, data.labels, e.probs, *cal);
      engine::Evaluation scaled;
      scaled.probs = c.probs;
      scaled.scores = metrics::evaluate(info.task, data.labels, c.probs);
      scaled.loss = c.after.nll;
      run::SplitIdentity cid = id;
      cid.run += "-calibrated";
      const run::SplitMetrics cm = run::record_split(run_dir, cid, info.task, data.labels, scaled);
      std::cout << "calibrated (temperature " << core::format_fixed(cal->temperature, 4)
                << " from calibration.json): " << core::format_scores(scaled.scores.auc, scaled.scores.acc)
                << "\n  ECE " << core::format_fixed(c.before.ece, 4) << " -> "
                << core::format_fixed(c.after.ece, 4) << ", Brier " << core::format_fixed(c.before.brier, 4)
                << " -> " << core::format_fixed(c.after.brier, 4) << ", NLL "
                << core::format_fixed(c.before.nll, 4) << " -> " << core::format_fixed(c.after.nll, 4)
                << "\n  " << core::format_fixed(100 * cal->conformal.coverage, 0)
                << "% conformal sets hold the true class for " << core::format_fixed(100 * c.sets.coverage, 1)
                << "% of " << data.size() << " images, " << core::format_fixed(c.sets.mean_size, 2)
                << " classes per set on average\n  per-sample scores: " << run_dir << "/" << cm.result_file
                << "\n";
    }
    if (split == data::Split::Test) {
      std::cout << "\n"
                << report::comparison_table(info.flag, r.config.model.name + (int8 ? " int8" : ""),
                                            e.scores.auc, e.scores.acc);
    }
  });
}

}  // namespace mednet::app
