#pragma once
// The training loop: epochs with a learning-rate schedule, validation after each (of the weight average
// with "ema"), early stopping, the best-validation checkpoint restored for the final val and test scores
// (with test-time flips when "tta" asks). Everything a run
// produces lands in its run directory (run/run_files.h), metrics.json included, so a library user
// and the CLI leave the same folder; it also holds what is needed to resume.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <torch/optim/optimizer.h>

#include "mednet/augment/mix.h"
#include "mednet/core/fs.h"
#include "mednet/data/dataset.h"
#include "mednet/engine/evaluate.h"
#include "mednet/engine/train_loss.h"
#include "mednet/models/classifier.h"
#include "mednet/run/config.h"
#include "mednet/run/epoch_writer.h"
#include "mednet/run/history.h"
#include "mednet/run/metrics_file.h"
#include "mednet/run/run_files.h"
#include "mednet/run/state.h"
#include "mednet/train/data_parallel.h"
#include "mednet/train/loss_scaler.h"
#include "mednet/train/weight_average.h"

namespace mednet::train {

/// The early-stopping rule in words: "early stop after 20 epochs without a better val AUC", or "no
/// early stop" when patience is 0.
std::string early_stop_rule(const run::TrainConfig& config);

/// What the trainer reports while it works; the app turns it into a progress bar and log lines.
struct TrainObserver {
  virtual ~TrainObserver() = default;
  /// The starting model on validation (Trainer::keep_initial_candidate only), before the first epoch.
  virtual void on_initial_score(const engine::Evaluation& /*val*/) {}
  virtual void on_epoch_begin(int /*epoch*/, int /*epochs*/, int64_t /*steps*/) {}
  /// running_loss is NaN on a GPU, where the loss is read once per epoch (reading it each step would
  /// make the host wait for the device).
  virtual void on_step(int64_t /*step*/, double /*running_loss*/) {}
  /// The epoch's training steps are done (validation follows); the steps may still be running on a GPU.
  virtual void on_train_pass_end(int /*epoch*/) {}
  virtual void on_epoch_end(const run::EpochRecord& /*record*/, bool /*improved*/) {}
  virtual void on_message(const std::string& /*text*/) {}
};

struct TrainResult {
  run::StopReason reason = run::StopReason::Completed;
  int epochs_run = 0;
  int best_epoch = 0;         ///< 0: no epoch finished, or the starting model was kept (initial_kept)
  bool initial_kept = false;  ///< the starting model scored best on validation (keep_initial_candidate)
  double train_seconds = 0;
  std::vector<run::EpochRecord> history;
  engine::Evaluation initial_val;  ///< the starting model on validation (keep_initial_candidate only)
  engine::Evaluation val, test;    ///< of the best-validation checkpoint; unset when has_best() is false
  /// Where the starting weights came from: "random-init", "pretrained: FILE" or "init-from: RUN".
  std::string backbone = "random-init";
  int64_t params = 0;            ///< all parameters
  int64_t trainable_params = 0;  ///< those the optimizer updates
  bool feature_cache = false;    ///< frozen backbone's features computed once
  bool has_best() const { return best_epoch > 0 || initial_kept; }
};

/// The order of an epoch's n training rows from its seed: a shuffle, or with row weights (class-balanced
/// sampling) n draws with replacement, row i with probability proportional to row_weights[i].
std::vector<int64_t> draw_epoch_order(int64_t n, const std::vector<double>& row_weights, uint64_t seed);

class Trainer {
 public:
  /// Builds the configured model (and applies its transfer settings).
  Trainer(run::TrainConfig config, const data::MedMnist& data, std::string run_dir, c10::Device device);
  /// Trains a model built elsewhere (transfer settings must be off), for example the fake-quantized
  /// network of quantization-aware training.
  Trainer(run::TrainConfig config, const data::MedMnist& data, std::string run_dir, c10::Device device,
          models::Classifier model);

  /// Continues from the run directory's last checkpoint (config must be the run's own). In a
  /// distributed job only rank 0 calls it; run() sends what it read to the other ranks.
  void resume();
  /// Makes this trainer one rank of a data-parallel job (call before run()). Rank 0 alone writes the
  /// run directory.
  /// sync_bn: BatchNorm statistics of the global batch (otherwise each rank's own).
  void set_group(std::shared_ptr<dist::Group> group, bool sync_bn = false);
  /// Scores the starting model on validation before the first epoch and keeps it as the best
  /// checkpoint unless an epoch beats it.
  void keep_initial_candidate() { initial_candidate_ = true; }
  /// Trains up to config.epochs, then restores the best checkpoint, scores val and test, and writes
  /// metrics.json.
  TrainResult run(TrainObserver& observer);

  models::ClassifierImpl& model() { return *model_; }

 private:
  void setup();
  void finish(TrainResult& result, TrainObserver& observer);
  void write_metrics(const TrainResult& result) const;
  void apply_transfer();
  /// Freezes the configured blocks and builds the optimizer (backbone and head groups).
  void freeze_and_build_optimizer();
  /// Backbone features of a whole split (frozen backbone, eval mode), on the device.
  at::Tensor embed_split(const data::SplitData& split);
  /// One epoch's training steps; returns false when the epoch was cut short (result.reason says why).
  bool train_epoch(int epoch, const at::Tensor& cached_train, run::EpochRecord& rec, TrainResult& result,
                   TrainObserver& observer);
  int64_t steps_per_epoch() const;
  /// The loss options, teachers and sampling weights the config asks for (trainer_loss.cpp).
  void setup_loss();
  /// The label loss, and with teachers the distillation term on the same (mixed) network input.
  at::Tensor step_loss(const at::Tensor& logits, const at::Tensor& input, const at::Tensor& labels,
                       const augment::MixedBatch& mixed) const;
  /// Whether the epoch's validation beats the best so far (config select: AUC or loss).
  bool improves(const run::EpochRecord& rec) const;
  /// Hands the epoch's checkpoints to the epoch writer: last.pt and last_optimizer.pt, with a weight
  /// average last_ema.pt, and best.pt (the average when there is one) when the epoch improved.
  /// average_now: the average's snapshot taken while it was swapped in for validation (with "ema" only).
  void submit_epoch(bool improved, std::optional<core::FileWriter> average_now);

  run::TrainConfig config_;
  const data::MedMnist& data_;
  run::RunFiles files_;
  c10::Device device_;
  models::Classifier model_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<double> group_lr_scale_;  // per optimizer group
  std::vector<std::string> notes_;      // said at the start of run()
  bool all_frozen_ = false;
  bool initial_candidate_ = false;
  bool initial_kept_ = false;  // best.pt holds the starting model
  run::RunState state_;
  data::SplitData train_split_, val_split_;  // data_'s, on the device when they fit there
  std::unique_ptr<DataParallel> dp_;         // null: one process
  std::unique_ptr<LossScaler> scaler_;       // fp16 only
  std::unique_ptr<WeightAverage> average_;   // config ema only
  engine::LossOptions loss_options_;
  std::vector<models::Classifier> teachers_;  // distill only: eval mode, no gradients
  std::vector<double> row_weights_;           // balance "sampler" only
  // Commits each epoch while the next one trains; last, so that it finishes before the rest goes.
  std::unique_ptr<run::EpochWriter> epoch_writer_;
  bool main_rank() const { return !dp_ || dp_->is_main(); }
};

}  // namespace mednet::train
