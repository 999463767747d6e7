// mednet train: train a classifier from an experiment file and/or flags; --resume continues a run.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "console.h"
#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/report/benchmarks.h"
#include "mednet/report/plot.h"
#include "mednet/report/run_report.h"
#include "mednet/train/checkpoint.h"
#include "mednet/train/trainer.h"

namespace mednet::app {

namespace fs = std::filesystem;

namespace {

struct TrainFlags {
  std::string config, dataset, root, optimizer, schedule, device, out, resume;
  int size = 0, epochs = 0, batch_size = 0, patience = -1, threads = -1;
  double lr = 0, weight_decay = -1;
  int64_t seed = -1;
  std::vector<int64_t> widths;
  bool skip_md5 = false;
};

void apply_flags(const TrainFlags& f, CLI::App& cmd, train::TrainConfig& c) {
  auto given = [&](const char* name) { return cmd.count(name) > 0; };
  if (given("--dataset")) c.dataset = f.dataset;
  if (given("--size")) c.size = f.size;
  if (given("--root")) c.root = f.root;
  if (given("--epochs")) c.epochs = f.epochs;
  if (given("--batch-size")) c.batch_size = f.batch_size;
  if (given("--lr")) c.lr = f.lr;
  if (given("--weight-decay")) c.weight_decay = f.weight_decay;
  if (given("--optimizer")) c.optimizer = f.optimizer;
  if (given("--schedule")) c.schedule = f.schedule;
  if (given("--patience")) c.patience = f.patience;
  if (given("--seed")) c.seed = static_cast<uint64_t>(f.seed);
  if (given("--threads")) c.threads = f.threads;
  if (given("--device")) c.device = f.device;
  if (given("--widths")) c.model.widths = f.widths;
}

void run_train(const TrainFlags& f, CLI::App& cmd) {
  train::TrainConfig cfg;
  std::string out;
  const bool resuming = !f.resume.empty();
  if (resuming) {
    out = f.resume;
    cfg = train::load_config(train::RunFiles(out).config());
    // Only how long and where to run may change on resume; the rest defines the run.
    for (const char* flag : {"--config", "--dataset", "--size", "--batch-size", "--lr", "--weight-decay",
                             "--optimizer", "--schedule", "--seed", "--widths", "--out"}) {
      MN_CHECK_USAGE(cmd.count(flag) == 0, flag,
                     " cannot change when resuming; a resumed run keeps its config.json");
    }
    if (cmd.count("--epochs")) cfg.epochs = f.epochs;
    if (cmd.count("--patience")) cfg.patience = f.patience;
    if (cmd.count("--threads")) cfg.threads = f.threads;
    if (cmd.count("--device")) cfg.device = f.device;
    if (cmd.count("--root")) cfg.root = f.root;
  } else {
    MN_CHECK_USAGE(!f.out.empty(), "--out DIR is required (where the run's files go)");
    out = f.out;
    if (!f.config.empty()) cfg = train::load_config(f.config);
    apply_flags(f, cmd, cfg);
    MN_CHECK_USAGE(!fs::exists(train::RunFiles(out).state()), out,
                   " already holds a run; continue it with --resume ", out, " or choose another --out");
  }
  cfg.validate();

  const int threads = core::set_threads(cfg.threads);
  const c10::Device device = core::resolve_device(cfg.device);
  const auto& info = data::find_dataset(cfg.dataset);
  data::Md5Status md5{};
  const data::MedMnist data = data::open_medmnist(info, cfg.size, cfg.root, &md5, !f.skip_md5);
  cfg.root = fs::absolute(fs::path(data.path).parent_path()).string();

  train::Trainer trainer(cfg, data, out, device);
  const int64_t params = models::count_parameters(trainer.model());
  std::cout << (resuming ? "resuming " : "training ") << cfg.model.name << " (" << params
            << " parameters) on " << info.display_name << " " << cfg.size << (info.volumetric ? "^3" : "px")
            << ": train " << data.train.size() << ", val " << data.val.size() << ", test " << data.test.size()
            << "\n"
            << "  file " << data.path << " (MD5 " << data::md5_status_name(md5) << ")\n"
            << "  device " << device << ", " << threads << " threads, seed " << cfg.seed << ", up to "
            << cfg.epochs << " epochs, early stop after " << cfg.patience << " without a better val AUC\n"
            << "  run directory " << out << std::endl;
  if (resuming) trainer.resume();

  core::install_interrupt_handler();
  ConsoleObserver observer;
  const train::TrainResult result = trainer.run(observer);
  const train::RunFiles files(out);

  report::RunSummary summary{
      &cfg, &result, params, threads, device.str(), data.path, data::md5_status_name(md5)};
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
            << std::endl;

  if (result.reason == train::StopReason::Interrupted) {
    std::cout << "interrupted after " << result.epochs_run
              << " finished epochs; continue with: mednet train --resume " << out << std::endl;
    exit_code() = kExitInterrupted;
  } else if (result.reason == train::StopReason::NanLoss) {
    exit_code() = 1;
  }
}

}  // namespace

void add_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a classifier (an experiment file and/or flags)");
  static TrainFlags f;
  cmd->add_option("--config", f.config,
                  "Experiment file (JSON), for example experiments/exp1_cnn3d_adrenal.json");
  cmd->add_option("--out", f.out, "Run directory for checkpoints, history, metrics and plots");
  cmd->add_option("--resume", f.resume, "Continue the run in this directory from its last checkpoint");
  cmd->add_option("--dataset", f.dataset, "Dataset flag (see mednet info)");
  cmd->add_option("--size", f.size, "Image size (28, 64, 128, 224)");
  cmd->add_option("--root", f.root,
                  "Folder with MedMNIST .npz files (default: $MEDMNIST_ROOT, then ~/.medmnist)");
  cmd->add_option("--epochs", f.epochs, "Maximum epochs (default 100)");
  cmd->add_option("--batch-size", f.batch_size, "Training batch size");
  cmd->add_option("--lr", f.lr, "Learning rate");
  cmd->add_option("--weight-decay", f.weight_decay, "Weight decay");
  cmd->add_option("--optimizer", f.optimizer, "adam or sgd")->check(CLI::IsMember({"adam", "sgd"}));
  cmd->add_option("--schedule", f.schedule, "step, cosine or constant")
      ->check(CLI::IsMember({"step", "cosine", "constant"}));
  cmd->add_option("--patience", f.patience, "Early-stopping patience in epochs (0: never stop early)");
  cmd->add_option("--seed", f.seed, "Random seed");
  cmd->add_option("--widths", f.widths, "Channel widths of the CNN stages, for example 32,64,128")
      ->delimiter(',');
  cmd->add_flag("--skip-md5", f.skip_md5,
                "Do not check the file against the official MD5 (own files in the format)");
  cmd->add_option("--threads", f.threads, "CPU threads (default: every core)");
  cmd->add_option("--device", f.device, "auto, cpu or cuda");
  cmd->callback([cmd] { run_train(f, *cmd); });
}

}  // namespace mednet::app
