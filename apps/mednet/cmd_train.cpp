// mednet train: train a classifier from an experiment file and/or flags; --resume continues a run.
#include <algorithm>
#include <cctype>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "mednet/core/error.h"
#include "training.h"

namespace mednet::app {

namespace fs = std::filesystem;

namespace {

struct TrainFlags {
  std::string config, dataset, root, optimizer, schedule, device, out, resume;
  int size = 0, epochs = 0, batch_size = 0, patience = -1, threads = -1;
  double lr = 0, weight_decay = -1;
  int64_t seed = -1;
  std::vector<int64_t> widths;
  std::string model, weights, init_from, freeze;
  int input_size = 0;
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
  if (given("--model")) c.model.name = f.model;
  if (given("--input-size")) c.model.input_size = f.input_size;
  if (given("--weights")) {
    c.transfer.weights = f.weights;
    c.model.imagenet_norm = true;  // pretrained backbones expect ImageNet statistics
  }
  if (given("--init-from")) c.transfer.init_from = f.init_from;
  if (given("--freeze"))
    c.transfer.freeze = train::parse_freeze(nlohmann::json::parse(
        std::all_of(f.freeze.begin(), f.freeze.end(), ::isdigit) ? f.freeze : "\"" + f.freeze + "\""));
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
                             "--optimizer", "--schedule", "--seed", "--widths", "--model", "--out",
                             "--weights", "--init-from", "--freeze", "--input-size"}) {
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
    if (!f.config.empty()) cfg = train::load_config(f.config);  // an experiment file is refused there
    apply_flags(f, cmd, cfg);
    MN_CHECK_USAGE(!fs::exists(train::RunFiles(out).state()), out,
                   " already holds a run; continue it with --resume ", out, " or choose another --out");
  }
  const RunOutcome outcome = train_and_report(cfg, out, resuming, f.skip_md5);
  if (outcome.result.reason == train::StopReason::Interrupted) {
    exit_code() = kExitInterrupted;
  } else if (outcome.result.reason == train::StopReason::NanLoss) {
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
  cmd->add_option("--model", f.model, "cnn, resnet18, resnet50, plain18, ... (see the README)");
  cmd->add_option("--input-size", f.input_size, "vgg16: resize images to this many pixels (default 64)");
  cmd->add_option("--weights", f.weights,
                  "Start the backbone from ImageNet weights: 'imagenet' (after mednet weights fetch) or a "
                  ".safetensors / torch.save file");
  cmd->add_option("--init-from", f.init_from,
                  "Start from another run's best checkpoint (transfer between datasets)");
  cmd->add_option("--freeze", f.freeze,
                  "Backbone blocks to freeze: all, none or a number from the input side");
  cmd->add_option("--widths", f.widths, "Channel widths of the stages, for example 32,64,128")
      ->delimiter(',');
  cmd->add_flag("--skip-md5", f.skip_md5,
                "Do not check the file against the official MD5 (own files in the format)");
  cmd->add_option("--threads", f.threads, "CPU threads (default: every core)");
  cmd->add_option("--device", f.device, "auto, cpu or cuda");
  cmd->callback([cmd] { run_train(f, *cmd); });
}

}  // namespace mednet::app
