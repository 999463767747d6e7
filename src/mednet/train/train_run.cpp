#include "mednet/train/train_run.h"

#include <filesystem>
#include <sstream>

#include "mednet/core/folder_lock.h"
#include "mednet/core/progress.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/data/dataset.h"
#include "mednet/report/benchmarks.h"
#include "mednet/report/plot.h"
#include "mednet/run/learning_curves.h"

namespace mednet::train {

namespace fs = std::filesystem;

namespace {

std::string summary_text(const run::TrainConfig& cfg, const TrainResult& result, const std::string& out) {
  std::ostringstream os;
  if (result.has_best()) {
    const auto& info = data::find_dataset(cfg.dataset);
    os << "\nbest epoch " << result.best_epoch << " of " << result.epochs_run << " ("
       << run::stop_reason_name(result.reason) << ", " << core::format_duration(result.train_seconds)
       << " training)\n"
       << "  backbone: " << result.backbone << (result.feature_cache ? " (frozen, features cached)" : "")
       << "\n"
       << "  val:  " << core::format_scores(result.val.scores.auc, result.val.scores.acc) << "\n"
       << "  test: " << core::format_scores(result.test.scores.auc, result.test.scores.acc) << "\n";
    for (const auto& w : result.test.scores.warnings) os << "  warning: " << w << "\n";
    os << "\n"
       << report::comparison_table(info.flag, cfg.model.name + " (seed " + std::to_string(cfg.seed) + ")",
                                   result.test.scores.auc, result.test.scores.acc);
  }
  os << "outputs in " << out << ": config.json history.csv metrics.json best.pt"
     << (report::plots_available() && !result.history.empty() ? " learning_curves.png" : "")
     << (cfg.grad_norm_epochs > 0 ? " grad_norms.csv" : "");
  if (result.reason == run::StopReason::Interrupted) {
    os << "\ninterrupted after " << result.epochs_run
       << " finished epochs; continue with: mednet train --resume " << out;
  }
  return os.str();
}

}  // namespace

TrainResult train_run(run::TrainConfig cfg, const std::string& out, const TrainRunOptions& o,
                      TrainObserver& observer) {
  cfg.validate();
  const c10::Device device = core::resolve_device(cfg.device);
  const int threads = core::set_threads(cfg.threads, device);
  const auto& info = data::find_dataset(cfg.dataset);
  const data::MedMnist data = data::open_medmnist(info, cfg.size, cfg.root, nullptr, o.check_md5);
  cfg.root = fs::absolute(fs::path(data.path).parent_path()).string();

  const bool main_rank = !o.group || o.group->is_main();
  // Rank 0 alone writes the run folder, so it alone holds it (a command may hold it already).
  const core::FolderLock lock = main_rank ? core::FolderLock::acquire(out) : core::FolderLock();
  Trainer trainer(cfg, data, out, device);
  const int64_t params = models::count_parameters(trainer.model(), /*trainable_only=*/false);
  const int64_t trainable = models::count_parameters(trainer.model());
  std::ostringstream head;
  head << (o.resuming ? "resuming " : "training ") << cfg.model.name << " (" << params << " parameters"
       << (trainable != params ? ", " + std::to_string(trainable) + " trainable" : std::string()) << ") on "
       << info.display_name << " " << cfg.size << (info.volumetric ? "^3" : "px") << ": train "
       << data.train.size() << ", val " << data.val.size() << ", test " << data.test.size() << "\n"
       << "  file " << data.path << " (MD5 " << data::md5_status_name(data.md5) << ")\n"
       << "  device " << device << ", " << threads << " threads, seed " << cfg.seed << ", up to "
       << cfg.epochs << " epochs, " << early_stop_rule(cfg) << "\n"
       << "  run directory " << out;
  observer.on_message(head.str());
  if (o.resuming && main_rank) trainer.resume();  // run() sends what rank 0 read to the others
  if (o.group) trainer.set_group(o.group, o.sync_bn);

  core::install_interrupt_handler();
  const TrainResult result = trainer.run(observer);
  if (!main_rank) return result;
  if (!result.history.empty()) {
    if (report::plots_available()) {
      run::write_learning_curves(result.history, result.best_epoch, run::selection_score(cfg),
                                 cfg.name + ": " + cfg.model.name + " on " + info.display_name,
                                 run::RunFiles(out).curves());
    } else {
      observer.on_message(
          "learning_curves.png not drawn: this build has no cairo (history.csv has the numbers)");
    }
  }
  observer.on_message(summary_text(cfg, result, out));
  return result;
}

}  // namespace mednet::train
