// mednet train: train a classifier from an experiment file and/or flags; --resume continues a run.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "common_flags.h"
#include "console.h"
#include "mednet/core/error.h"
#include "mednet/core/folder_lock.h"
#include "mednet/core/runtime.h"
#include "mednet/dist/env.h"
#include "mednet/dist/launch.h"
#include "mednet/run/open_run.h"
#include "mednet/train/train_run.h"

namespace mednet::app {

namespace {

struct TrainFlags {
  std::string config, dataset, optimizer, schedule, out, resume, precision;
  int size = 0, batch_size = 0, eval_batch_size = 0;
  CommonFlags common;
  RunLengthFlags length;
  double lr = 0, weight_decay = -1, label_smoothing = 0, ema = 0, mixup = 0, cutmix = 0;
  double soft_ordinal = 0, distill_alpha = 0.5, distill_temperature = 4;
  std::string select, tta, head, balance;
  std::vector<std::string> distill;
  int warmup_epochs = 0;
  int64_t seed = -1;
  std::vector<int64_t> widths;
  std::string model, weights, init_from, freeze;
  int input_size = 0;
  int nproc = 1;
  double max_memory = 0;
  std::string dist_backend = "auto";
  int dist_timeout = 300;
  bool sync_bn = false;
};

/// The command line for the workers: this one without --nproc, with a share of the cores each.
std::vector<std::string> worker_args(const TrainFlags& f) {
  std::vector<std::string> out;
  const auto& args = program_args();
  bool threads_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    if (args[i] == "--threads" || args[i].rfind("--threads=", 0) == 0) threads_given = true;
    out.push_back(args[i]);
  }
  if (!threads_given) {
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    out.push_back("--threads");
    out.push_back(std::to_string(std::max(1, cores / f.nproc)));
  }
  return out;
}

void apply_flags(const TrainFlags& f, CLI::App& cmd, run::TrainConfig& c) {
  auto given = [&](const char* name) { return cmd.count(name) > 0; };
  if (given("--dataset")) c.dataset = f.dataset;
  if (given("--size")) c.size = f.size;
  if (given("--batch-size")) c.batch_size = f.batch_size;
  if (given("--lr")) c.lr = f.lr;
  if (given("--weight-decay")) c.weight_decay = f.weight_decay;
  if (given("--optimizer")) c.optimizer = f.optimizer;
  if (given("--schedule")) c.schedule = f.schedule;
  if (given("--warmup-epochs")) c.warmup_epochs = f.warmup_epochs;
  if (given("--label-smoothing")) c.label_smoothing = f.label_smoothing;
  if (given("--soft-ordinal")) c.soft_ordinal = f.soft_ordinal;
  if (given("--balance")) c.balance = f.balance;
  if (given("--head")) c.model.head = f.head;
  if (given("--distill")) c.distill.teachers = f.distill;
  if (given("--distill-alpha")) c.distill.alpha = f.distill_alpha;
  if (given("--distill-temperature")) c.distill.temperature = f.distill_temperature;
  if (given("--ema")) c.ema = f.ema;
  if (given("--mixup")) c.mixup = f.mixup;
  if (given("--cutmix")) c.cutmix = f.cutmix;
  if (given("--select")) c.select = f.select;
  if (given("--seed")) {
    MN_CHECK_USAGE(f.seed >= 0, "--seed must be >= 0, got ", f.seed);
    c.seed = static_cast<uint64_t>(f.seed);
  }
  if (given("--widths")) c.model.widths = f.widths;
  if (given("--model")) c.model.name = f.model;
  if (given("--input-size")) c.model.input_size = f.input_size;
  if (given("--weights")) {
    c.transfer.weights = f.weights;
    c.model.imagenet_norm = true;  // pretrained backbones expect ImageNet statistics
  }
  apply_run_overrides(cmd, f.common, f.length, c);
  if (given("--init-from")) c.transfer.init_from = f.init_from;
  if (given("--freeze"))
    c.transfer.freeze = run::parse_freeze(nlohmann::json::parse(
        std::all_of(f.freeze.begin(), f.freeze.end(), ::isdigit) ? f.freeze : "\"" + f.freeze + "\""));
}

void run_train(const TrainFlags& f, CLI::App& cmd) {
  run::TrainConfig cfg;
  std::string out;
  const bool resuming = !f.resume.empty();
  if (resuming) {
    out = f.resume;
    cfg = run::load_config(run::RunFiles(out).config());
    // Only how long and where to run may change on resume; the rest defines the run.
    for (const char* flag : {"--config",
                             "--dataset",
                             "--size",
                             "--batch-size",
                             "--lr",
                             "--weight-decay",
                             "--optimizer",
                             "--schedule",
                             "--warmup-epochs",
                             "--label-smoothing",
                             "--ema",
                             "--mixup",
                             "--cutmix",
                             "--select",
                             "--seed",
                             "--widths",
                             "--model",
                             "--out",
                             "--weights",
                             "--init-from",
                             "--freeze",
                             "--input-size",
                             "--soft-ordinal",
                             "--balance",
                             "--head",
                             "--distill",
                             "--distill-alpha",
                             "--distill-temperature"}) {
      MN_CHECK_USAGE(cmd.count(flag) == 0, flag,
                     " cannot change when resuming; a resumed run keeps its config.json");
    }
    apply_run_overrides(cmd, f.common, f.length, cfg);
  } else {
    MN_CHECK_USAGE(!f.out.empty(), "--out DIR is required (where the run's files go)");
    out = f.out;
    if (!f.config.empty()) cfg = run::load_config(f.config);  // an experiment file is refused there
    apply_flags(f, cmd, cfg);
  }
  // The process that writes the folder (one alone, or rank 0 of a launched job; never the launcher, whose
  // rank 0 writes) holds it from here to the end, so that a second writer is refused before it reads or
  // writes anything.
  const dist::DistEnv env = dist::read_env();
  const bool writer = env.launched ? env.rank == 0 : f.nproc <= 1;
  const core::FolderLock lock = writer ? core::FolderLock::acquire(out) : core::FolderLock();
  // Rank 0 alone: the other ranks of a launched job may start after it has begun writing there.
  if (!resuming && (!env.launched || env.rank == 0)) run::check_new_run_dir(out);
  if (cmd.count("--precision")) cfg.precision = f.precision;  // how it runs: may change on resume
  if (cmd.count("--tta")) cfg.tta = f.tta;                    // how the end is scored: likewise
  if (cmd.count("--eval-batch-size")) cfg.eval_batch_size = f.eval_batch_size;  // memory, not results
  if (f.nproc > 1 && !env.launched) {
    dist::LaunchOptions lo;
    lo.nproc = f.nproc;
    lo.args = worker_args(f);
    lo.timeout_seconds = f.dist_timeout;
    std::cout << "starting " << f.nproc << " worker processes on this machine (gloo, 127.0.0.1)\n"
              << std::flush;
    exit_code() = dist::launch_local(lo);
    return;
  }
  train::TrainRunOptions o;
  o.resuming = resuming;
  o.check_md5 = !f.common.skip_md5;
  o.sync_bn = f.sync_bn;
  o.max_memory_mb = f.max_memory;
  if (env.launched && env.world_size > 1) {
    dist::GroupOptions go;
    go.backend = f.dist_backend;
    go.timeout = std::chrono::seconds(f.dist_timeout);
    o.group = dist::Group::connect(env, go, core::resolve_device(cfg.device));
  }
  ConsoleObserver console;
  train::TrainObserver quiet;  // ranks other than 0 print nothing but errors
  train::TrainObserver& observer =
      !o.group || o.group->is_main() ? static_cast<train::TrainObserver&>(console) : quiet;
  const train::TrainResult result = train::train_run(cfg, out, o, observer);
  if (result.reason == run::StopReason::Interrupted) {
    exit_code() = kExitInterrupted;
  } else if (result.reason == run::StopReason::NanLoss) {
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
  add_common_flags(*cmd, f.common, "$MEDMNIST_ROOT, then ~/.medmnist");
  add_run_length_flags(*cmd, f.length, " (default 100 epochs, patience 20)");
  cmd->add_option("--batch-size", f.batch_size, "Training batch size");
  cmd->add_option("--eval-batch-size", f.eval_batch_size,
                  "Rows scored at a time on validation and test (default 256); fewer hold less memory");
  cmd->add_option("--lr", f.lr, "Learning rate");
  cmd->add_option("--weight-decay", f.weight_decay, "Weight decay");
  cmd->add_option("--optimizer", f.optimizer, "adam, adamw (decoupled weight decay) or sgd")
      ->check(CLI::IsMember({"adam", "adamw", "sgd"}));
  cmd->add_option(
      "--warmup-epochs", f.warmup_epochs,
      "The learning rate rises linearly over these first epochs, then the schedule runs (default 0)");
  cmd->add_option("--label-smoothing", f.label_smoothing,
                  "Smooth the training targets by this much, from 0 (default) to below 1");
  cmd->add_option("--soft-ordinal", f.soft_ordinal,
                  "Ordinal tasks: soft labels exp(-A |grade - label|), normalised (SORD); 0 (default) = off");
  cmd->add_option("--head", f.head,
                  "softmax (default) or corn: K - 1 conditional 'grade above k' outputs turned into class "
                  "probabilities (ordinal tasks)")
      ->check(CLI::IsMember({"softmax", "corn"}));
  cmd->add_option("--balance", f.balance,
                  "none (default), weights (class-weighted loss) or sampler (class-balanced sampling)")
      ->check(CLI::IsMember({"none", "weights", "sampler"}));
  cmd->add_option("--distill", f.distill,
                  "Teacher run folders: also learn the mean of their probabilities (knowledge distillation)");
  cmd->add_option("--distill-alpha", f.distill_alpha,
                  "Share of the distillation term in the loss, above 0 to 1 (default 0.5)");
  cmd->add_option("--distill-temperature", f.distill_temperature,
                  "Temperature of teachers and student in the distillation term (default 4)");
  cmd->add_option("--ema", f.ema,
                  "Keep an exponential moving average of the weights with this decay (for example 0.999) "
                  "and validate, checkpoint and test it (default 0: off)");
  cmd->add_option("--mixup", f.mixup, "Mixup with Beta(alpha, alpha) mixing weights (default 0: off)");
  cmd->add_option("--cutmix", f.cutmix, "CutMix with Beta(alpha, alpha) box shares (default 0: off)");
  cmd->add_option("--select", f.select,
                  "What picks the best checkpoint and counts for early stopping: validation auc (default), "
                  "loss, or acc (an equal ACC with a higher AUC also counts as better)")
      ->check(CLI::IsMember({"auc", "loss", "acc"}));
  cmd->add_option("--tta", f.tta,
                  "Final val and test scores: none (default) or flips (mean over the flips the training "
                  "augmentation uses)")
      ->check(CLI::IsMember({"none", "flips"}));
  cmd->add_option(
         "--precision", f.precision,
         "fp32 (default), bf16 or fp16: forward passes under CUDA autocast (fp16 with loss scaling); "
         "CUDA only")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  cmd->add_option("--schedule", f.schedule, "step, cosine or constant")
      ->check(CLI::IsMember({"step", "cosine", "constant"}));
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
  cmd->add_option("--max-memory", f.max_memory,
                  "MB this run may hold on the host (activations of a step, weights, splits); a run that "
                  "needs more stops before training with the batch size that fits (default: 90% of memory)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--nproc", f.nproc,
                  "Train with this many processes on this machine (data-parallel, c10d Gloo); a job started "
                  "by torchrun or SLURM reads RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT instead")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--dist-backend", f.dist_backend, "auto (gloo on CPU, nccl on CUDA), gloo or nccl")
      ->check(CLI::IsMember({"auto", "gloo", "nccl"}))
      ->capture_default_str();
  cmd->add_option("--dist-timeout", f.dist_timeout,
                  "Seconds a rank waits for the others before the job ends with an error")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cmd->add_flag("--sync-bn", f.sync_bn,
                "With several processes: BatchNorm statistics of the whole global batch (default: each "
                "process's share)");
  cmd->callback([cmd] { run_train(f, *cmd); });
}

}  // namespace mednet::app
