#include "mednet/train/train_run.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "mednet/core/error.h"
#include "mednet/core/folder_lock.h"
#include "mednet/core/progress.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/data/dataset.h"
#include "mednet/engine/step_memory.h"
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

// The run's peak memory on the host, predicted before the first step and checked against the limit: a run
// that would swap stops here with the batch size that fits, instead of thrashing for hours. The peak is what
// the process holds now (libraries, splits, weights), Adam's two moments to come, and a training step's and
// an evaluation batch's tensors together (engine/step_memory.h): the heap keeps what one phase frees, and
// the other's large blocks rarely fit in its holes.
std::string memory_line(const run::TrainConfig& cfg, const data::MedMnist& data, Trainer& trainer,
                        const c10::Device& device, double max_memory_mb) {
  if (!device.is_cpu() || data.train.size() < 4) return "";
  const engine::StepMemory m =
      engine::measure_step_memory(trainer.model(), data::to_network_input(data.train.images.slice(0, 0, 4)));
  const double now = static_cast<double>(core::resident_bytes());
  const double moments = 8.0 * static_cast<double>(models::count_parameters(trainer.model()));
  const double step = m.train.at(cfg.batch_size), eval = m.eval.at(cfg.eval_batch_size);
  const double peak = now + moments + step + eval;
  const double physical = static_cast<double>(core::physical_memory_bytes());
  const double limit = max_memory_mb > 0 ? max_memory_mb * 1024 * 1024 : 0.9 * physical;
  const std::string parts =
      "held now " + core::format_bytes(now) + ", optimizer state " + core::format_bytes(moments) +
      ", a training step of " + std::to_string(cfg.batch_size) + " " + core::format_bytes(step) +
      ", an evaluation batch of " + std::to_string(cfg.eval_batch_size) + " " + core::format_bytes(eval);
  if (limit > 0 && peak > limit) {
    // A smaller training batch beside the evaluation batch as it is; else the room split between the two
    // phases as their needs are split now. 5% kept spare: a new process holds a little more or less.
    const double room = 0.95 * (limit - now - moments);
    const auto fits = [](const engine::LinearBytes& l, double bytes) {
      return l.per_row > 0 ? static_cast<int64_t>(std::floor((bytes - l.fixed) / l.per_row)) : int64_t{0};
    };
    int64_t train_fits = fits(m.train, room - eval), eval_fits = cfg.eval_batch_size;
    if (train_fits < 1) {
      train_fits = fits(m.train, room * step / (step + eval));
      eval_fits = fits(m.eval, room * eval / (step + eval));
    }
    std::string advice = "--batch-size " + std::to_string(train_fits) + " or less";
    if (eval_fits < cfg.eval_batch_size)
      advice += " and --eval-batch-size " + std::to_string(eval_fits) + " or less";
    MN_CHECK_USAGE(false, "this run needs about ", core::format_bytes(peak), " at its peak (", parts,
                   "), more than ",
                   max_memory_mb > 0 ? "--max-memory " + core::format_bytes(limit)
                                     : core::format_bytes(limit) + ", 90% of this machine's memory",
                   train_fits >= 1 && eval_fits >= 1
                       ? ": give " + advice
                       : ": what the process holds already and the optimizer state do not fit",
                   ", or raise --max-memory (MB)");
  }
  return "\n  memory: peak about " + core::format_bytes(peak) + " (" + parts + ")" +
         (limit > 0 ? "; limit " + core::format_bytes(limit) : "");
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
       << "  run directory " << out << memory_line(cfg, data, trainer, device, o.max_memory_mb);
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
