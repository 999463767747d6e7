#include "training.h"

#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "console.h"
#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/report/benchmarks.h"
#include "mednet/report/plot.h"
#include "mednet/report/run_report.h"
#include "mednet/train/checkpoint.h"

namespace mednet::app {

namespace fs = std::filesystem;

RunOutcome train_and_report(train::TrainConfig cfg, const std::string& out, bool resuming, bool skip_md5) {
  cfg.validate();
  const int threads = core::set_threads(cfg.threads);
  const c10::Device device = core::resolve_device(cfg.device);
  const auto& info = data::find_dataset(cfg.dataset);
  data::Md5Status md5{};
  const data::MedMnist data = data::open_medmnist(info, cfg.size, cfg.root, &md5, !skip_md5);
  cfg.root = fs::absolute(fs::path(data.path).parent_path()).string();

  train::Trainer trainer(cfg, data, out, device);
  RunOutcome outcome;
  outcome.params = 0;
  for (const auto& p : trainer.model().parameters()) outcome.params += p.numel();
  const int64_t trainable = models::count_parameters(trainer.model());
  std::cout << (resuming ? "resuming " : "training ") << cfg.model.name << " (" << outcome.params
            << " parameters"
            << (trainable != outcome.params ? ", " + std::to_string(trainable) + " trainable" : std::string())
            << ") on " << info.display_name << " " << cfg.size << (info.volumetric ? "^3" : "px")
            << ": train " << data.train.size() << ", val " << data.val.size() << ", test " << data.test.size()
            << "\n"
            << "  file " << data.path << " (MD5 " << data::md5_status_name(md5) << ")\n"
            << "  device " << device << ", " << threads << " threads, seed " << cfg.seed << ", up to "
            << cfg.epochs << " epochs, early stop after " << cfg.patience << " without a better val AUC\n"
            << "  run directory " << out << std::endl;
  if (resuming) trainer.resume();

  core::install_interrupt_handler();
  ConsoleObserver observer;
  outcome.result = trainer.run(observer);
  const train::TrainResult& result = outcome.result;
  const train::RunFiles files(out);

  report::RunSummary summary{
      &cfg, &result, outcome.params, threads, device.str(), data.path, data::md5_status_name(md5)};
  train::write_file_atomic(files.metrics(), report::metrics_json(summary).dump(2) + "\n");
  if (!result.history.empty()) {
    if (report::plots_available()) {
      report::write_learning_curves(result.history, result.best_epoch,
                                    cfg.name + ": " + cfg.model.name + " on " + info.display_name,
                                    files.curves());
    } else {
      std::cout << "learning_curves.png not drawn: this build has no cairo (history.csv has the numbers)\n";
    }
  }

  if (result.best_epoch > 0) {
    std::cout << "\nbest epoch " << result.best_epoch << " of " << result.epochs_run << " ("
              << train::stop_reason_name(result.reason) << ", " << core::format_duration(result.train_seconds)
              << " training)\n"
              << "  backbone: " << result.backbone
              << (result.feature_cache ? " (frozen, features cached)" : "") << "\n"
              << "  val:  " << format_scores(result.val.scores.auc, result.val.scores.acc) << "\n"
              << "  test: " << format_scores(result.test.scores.auc, result.test.scores.acc) << "\n";
    for (const auto& w : result.test.scores.warnings) std::cout << "  warning: " << w << "\n";
    std::cout << "\n"
              << report::comparison_table(info.flag,
                                          cfg.model.name + " (seed " + std::to_string(cfg.seed) + ")",
                                          result.test.scores.auc, result.test.scores.acc);
  }
  std::cout << "outputs in " << out << ": config.json history.csv metrics.json best.pt"
            << (report::plots_available() && !result.history.empty() ? " learning_curves.png" : "")
            << (cfg.grad_norm_epochs > 0 ? " grad_norms.csv" : "") << std::endl;
  if (result.reason == train::StopReason::Interrupted) {
    std::cout << "interrupted after " << result.epochs_run
              << " finished epochs; continue with: mednet train --resume " << out << std::endl;
  }
  return outcome;
}

}  // namespace mednet::app
