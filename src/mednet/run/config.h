#pragma once
// A training run's configuration. Experiment files hold it as JSON; command-line flags override it;
// the fully resolved copy goes into every run directory so the run can be repeated from there.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mednet/augment/augment.h"
#include "mednet/models/registry.h"

namespace mednet::run {

/// Where a run's starting weights come from and what of them it trains.
struct TransferSpec {
  /// "" (none), "imagenet" (the model's ImageNet file from `mednet weights fetch`), or a path to a
  /// .safetensors / torch.save file.
  std::string weights;
  /// Another run directory: start from its best checkpoint (the head too, where the shapes agree).
  std::string init_from;
  /// Backbone blocks frozen from the input side: 0 = none, -1 = all ("all" in JSON).
  int freeze = 0;
  /// Learning rate of the trainable backbone blocks relative to the head's.
  double backbone_lr_scale = 1.0;
  bool active() const { return !weights.empty() || !init_from.empty() || freeze != 0; }
};

/// Knowledge distillation (Hinton et al. 2015): the student also matches the mean of the teachers'
/// probabilities at a temperature, computed on the same (augmented) batch.
struct DistillSpec {
  /// Finished run folders of the same dataset, size and task; empty = off. In an experiment file,
  /// "arm:NAME" stands for every seed of an earlier arm NAME.
  std::vector<std::string> teachers;
  /// loss = (1 - alpha) label loss + alpha T^2 KL(teachers || student) (engine/train_loss.h).
  double alpha = 0.5;
  double temperature = 4;
  bool active() const { return !teachers.empty(); }
};

struct TrainConfig {
  std::string name = "run";
  std::string dataset = "adrenalmnist3d";
  int size = 28;
  std::string root;  ///< folder of the .npz (empty: the default lookup)
  models::ModelSpec model;
  int epochs = 100;
  int batch_size = 32;
  int eval_batch_size = 256;
  std::string optimizer = "adam";  ///< adam | adamw (weight decay decoupled from the gradient) | sgd
  double lr = 1e-3;
  double weight_decay = 0;
  double momentum = 0.9;          ///< sgd only
  std::string schedule = "step";  ///< step (x0.1 at 50% and 75%) | cosine | constant
  /// The learning rate rises linearly over these first epochs, then the schedule runs over the rest; 0 = off.
  int warmup_epochs = 0;
  /// Training loss only: one-hot targets become (1 - e) one-hot + e / classes (multi-label: y (1 - e) +
  /// e / 2); validation and test losses stay plain. 0 = off.
  double label_smoothing = 0;
  /// Ordinal tasks: SORD soft labels, target q_j proportional to exp(-a |j - y|) (engine/train_loss.h);
  /// 0 = off. Excludes label_smoothing.
  double soft_ordinal = 0;
  /// Class balance of a single-label task's training: "none", "weights" (each class's loss weighted
  /// N / (K n_k)) or "sampler" (each epoch draws N training rows with replacement, every class equally
  /// likely).
  std::string balance = "none";
  DistillSpec distill;
  /// Decay of an exponential moving average of the weights (and BatchNorm statistics), updated after
  /// every step; validation, the checkpoints best.pt and the final scores use the average. 0 = off.
  double ema = 0;
  /// Mixup / CutMix (train/mix.h): the Beta(alpha, alpha) of the mixing weight; with both on, each batch
  /// takes one of them at random. 0 = off.
  double mixup = 0;
  double cutmix = 0;
  /// What picks the best checkpoint and counts for early stopping: validation "auc" (higher), "loss"
  /// (lower) or "acc" (higher; an equal ACC with a higher AUC also counts as better).
  std::string select = "auc";
  /// Test-time augmentation of the final validation and test scores: "none" or "flips" (the mean of the
  /// probabilities over the flips the training augmentation uses, engine/tta.h).
  std::string tta = "none";
  int patience = 20;  ///< epochs without a better validation score (select) before stopping; 0 = never
  uint64_t seed = 0;
  int threads = 0;  ///< 0 = every core
  std::string device = "auto";
  /// fp32 | bf16 | fp16: the forward passes under CUDA autocast in that type (fp16 with dynamic loss
  /// scaling); a CUDA device only.
  std::string precision = "fp32";
  /// Training-time augmentation (never applied to validation or test); empty = none.
  std::vector<augment::TransformSpec> augment;
  /// Record per-layer gradient norms during the first this many epochs (grad_norms.csv); 0 = off.
  int grad_norm_epochs = 0;
  TransferSpec transfer;

  /// Checks every field; a bad value is a usage error naming it.
  void validate() const;
  /// The checks that need no catalog lookup: ranges (epochs 1..100000, batch sizes 1..65536, threads
  /// 0..1024, seed 0..2^63-1), finite positive rates and known names. config_from_json runs them.
  void validate_values() const;
};

nlohmann::json to_json(const TrainConfig& c);
/// Reads a config; unknown keys are an error (a typo must not silently fall back to a default).
TrainConfig config_from_json(const nlohmann::json& j, const TrainConfig& defaults = TrainConfig());
TrainConfig load_config(const std::string& path);
/// Writes config.json (the fully resolved config) atomically; load_config reads it back.
void write_config(const std::string& path, const TrainConfig& c);
/// "all" -> -1, "none" -> 0, N -> N (a usage error otherwise).
int parse_freeze(const nlohmann::json& v);

/// The validation score that chooses the best checkpoint and drives early stopping, as messages name it:
/// "AUC", "loss" or "ACC".
std::string selection_score(const TrainConfig& c);

}  // namespace mednet::run
