#pragma once
// The training loop: epochs with a learning-rate schedule, validation AUC after each, early
// stopping, best-validation weights restored for the final test evaluation. Everything a run
// produces lands in its run directory, including what is needed to resume it.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "mednet/data/dataset.h"
#include "mednet/metrics/metrics.h"
#include "mednet/models/classifier.h"
#include "mednet/train/config.h"

namespace mednet::train {

/// One row of history.csv.
struct EpochRecord {
  int epoch = 0;  ///< 1-based
  double lr = 0;
  double train_loss = 0, train_auc = 0, train_acc = 0;
  double val_loss = 0, val_auc = 0, val_acc = 0;
  double seconds = 0;
};

/// How a run ended.
enum class StopReason { Completed, EarlyStopped, Interrupted, NanLoss };
std::string stop_reason_name(StopReason r);

/// What the trainer reports while it works; the app turns it into a progress bar and log lines.
struct TrainObserver {
  virtual ~TrainObserver() = default;
  virtual void on_epoch_begin(int /*epoch*/, int /*epochs*/, int64_t /*steps*/) {}
  virtual void on_step(int64_t /*step*/, double /*running_loss*/) {}
  virtual void on_epoch_end(const EpochRecord& /*record*/, bool /*improved*/) {}
  virtual void on_message(const std::string& /*text*/) {}
};

/// Loss, scores and probabilities of a model on one split.
struct Evaluation {
  double loss = 0;
  metrics::Scores scores;
  at::Tensor probs;  ///< [N, K] on CPU
};

/// Evaluates in eval mode without gradients.
Evaluation evaluate_model(models::ClassifierImpl& model, const data::SplitData& split, data::Task task,
                          const c10::Device& device, int batch_size);

/// Evaluation from a function giving the logits of rows [start, start + len) (no-grad, caller's mode).
Evaluation evaluate_batches(data::Task task, const at::Tensor& labels, int batch_size,
                            const std::function<at::Tensor(int64_t, int64_t)>& logits_of);

/// Loss by task: cross-entropy for binary, multi-class and ordinal; BCE-with-logits for multi-label.
at::Tensor task_loss(data::Task task, const at::Tensor& logits, const at::Tensor& labels);

struct TrainResult {
  StopReason reason = StopReason::Completed;
  int epochs_run = 0;
  int best_epoch = 0;  ///< 0 when no epoch finished
  double train_seconds = 0;
  std::vector<EpochRecord> history;
  Evaluation val, test;  ///< of the best-validation checkpoint; unset when best_epoch == 0
  /// Where the starting weights came from: "random-init", "pretrained: FILE" or "init-from: RUN".
  std::string backbone = "random-init";
  int64_t trainable_params = 0;
  bool feature_cache = false;  ///< frozen backbone's features computed once
};

/// File names inside a run directory.
struct RunFiles {
  explicit RunFiles(std::string dir) : dir(std::move(dir)) {}
  std::string dir;
  std::string config() const { return dir + "/config.json"; }
  std::string history() const { return dir + "/history.csv"; }
  std::string metrics() const { return dir + "/metrics.json"; }
  std::string best() const { return dir + "/best.pt"; }
  std::string last() const { return dir + "/last.pt"; }
  std::string last_optimizer() const { return dir + "/last_optimizer.pt"; }
  std::string state() const { return dir + "/state.json"; }
  std::string curves() const { return dir + "/learning_curves.png"; }
  std::string grad_norms() const { return dir + "/grad_norms.csv"; }
  /// An int8 model directory (mednet quantize) holds this instead of best.pt.
  std::string int8_model() const { return dir + "/model_int8.safetensors"; }
  std::string quant() const { return dir + "/quant.json"; }
};

class Trainer {
 public:
  Trainer(TrainConfig config, const data::MedMnist& data, std::string run_dir, c10::Device device);

  /// Continues from the run directory's last checkpoint (config must be the run's own).
  void resume();
  /// Trains up to config.epochs, then restores the best checkpoint and scores val and test.
  TrainResult run(TrainObserver& observer);

  models::ClassifierImpl& model() { return *model_; }

 private:
  void save_state() const;
  void finish(TrainResult& result, TrainObserver& observer);
  void apply_transfer();
  /// Freezes the configured blocks and builds the optimizer (backbone and head groups).
  void freeze_and_build_optimizer();
  /// Backbone features of a whole split (frozen backbone, eval mode), on the device.
  at::Tensor embed_split(const data::SplitData& split);

  TrainConfig config_;
  const data::MedMnist& data_;
  RunFiles files_;
  c10::Device device_;
  models::Classifier model_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<double> group_lr_scale_;  // per optimizer group
  std::string backbone_ = "random-init";
  std::vector<std::string> notes_;  // said at the start of run()
  bool all_frozen_ = false;
  std::vector<EpochRecord> history_;
  int start_epoch_ = 0;  // epochs already done
  int best_epoch_ = 0;
  double best_auc_ = -1;
  int bad_epochs_ = 0;
  double seconds_so_far_ = 0;
};

/// The finished epochs recorded in a run directory's state.json (empty when there is none).
std::vector<EpochRecord> read_history(const RunFiles& files);

/// history.csv text (header + one line per epoch).
std::string history_csv(const std::vector<EpochRecord>& history);

}  // namespace mednet::train
