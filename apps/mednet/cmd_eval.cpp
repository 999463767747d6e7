// mednet eval --run DIR: re-evaluate a saved run's best checkpoint (or an int8 model directory).
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/engine/evaluate.h"
#include "mednet/quant/quantize_run.h"
#include "mednet/report/benchmarks.h"
#include "mednet/run/open_run.h"
#include "mednet/run/split_results.h"

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
    for (const auto& w : e.scores.warnings) std::cout << "warning: " << w << "\n";
    if (split == data::Split::Test) {
      std::cout << "\n"
                << report::comparison_table(info.flag, r.config.model.name + (int8 ? " int8" : ""),
                                            e.scores.auc, e.scores.acc);
    }
  });
}

}  // namespace mednet::app
