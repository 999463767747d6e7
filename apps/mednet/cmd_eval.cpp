// mednet eval --run DIR: re-evaluate a saved run's best checkpoint.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "console.h"
#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/models/registry.h"
#include "mednet/quant/quantize_run.h"
#include "mednet/report/benchmarks.h"
#include "mednet/train/checkpoint.h"
#include "mednet/train/trainer.h"

namespace mednet::app {

void add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a saved run's best checkpoint");
  static std::string run, split_name = "test", root, device_name = "auto";
  static int threads = 0;
  static bool skip_md5 = false;
  cmd->add_option("--run", run, "Run directory written by mednet train")->required();
  cmd->add_option("--split", split_name, "val or test")->check(CLI::IsMember({"train", "val", "test"}));
  cmd->add_option("--root", root, "Folder with MedMNIST .npz files (default: the run's own)");
  cmd->add_flag("--skip-md5", skip_md5, "Do not check the file against the official MD5");
  cmd->add_option("--threads", threads, "CPU threads (default: every core)");
  cmd->add_option("--device", device_name, "auto, cpu or cuda");
  cmd->callback([] {
    const train::RunFiles files(run);
    MN_CHECK_USAGE(std::filesystem::exists(files.config()), run, " is not a run directory (no config.json)");
    train::TrainConfig cfg = train::load_config(files.config());
    if (!root.empty()) cfg.root = root;
    core::set_threads(threads);
    const c10::Device device = core::resolve_device(device_name);
    const auto& info = data::find_dataset(cfg.dataset);
    const data::Split split = data::parse_split(split_name);
    const data::MedMnist data = data::open_medmnist(info, cfg.size, cfg.root, nullptr, !skip_md5);
    // An int8 directory (mednet quantize) holds model_int8.safetensors instead of best.pt; it runs on the
    // CPU.
    const bool int8 = std::filesystem::exists(files.int8_model());
    train::Evaluation e;
    if (int8) {
      e = quant::evaluate_int8(files.int8_model(), data.split(split), info.task, cfg.eval_batch_size);
    } else {
      models::Classifier model = models::make_model(cfg.model, info, cfg.size);
      model->to(device);
      train::load_module(*model, files.best(), device);
      e = train::evaluate_model(*model, data.split(split), info.task, device, cfg.eval_batch_size);
    }
    std::cout << run << " (" << cfg.model.name << (int8 ? " int8" : "") << " on " << info.display_name << " "
              << cfg.size << ", seed " << cfg.seed << ")\n"
              << split_name << ": " << format_scores(e.scores.auc, e.scores.acc) << "  loss " << e.loss
              << "  (" << data.split(split).size() << " samples)\n";
    for (const auto& w : e.scores.warnings) std::cout << "warning: " << w << "\n";
    if (split == data::Split::Test) {
      std::cout << "\n"
                << report::comparison_table(info.flag, cfg.model.name + (int8 ? " int8" : ""), e.scores.auc,
                                            e.scores.acc);
    }
  });
}

}  // namespace mednet::app
