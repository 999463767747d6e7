#include "mednet/train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>
#include <sstream>

#include <torch/torch.h>

#include "mednet/augment/augment.h"
#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/engine/autocast.h"
#include "mednet/models/pretrained.h"
#include "mednet/models/registry.h"
#include "mednet/models/weights.h"
#include "mednet/run/checkpoint.h"
#include "mednet/run/journal.h"
#include "mednet/run/open_run.h"
#include "mednet/run/split_results.h"
#include "mednet/train/optimizer.h"
#include "mednet/train/schedule.h"

namespace mednet::train {

namespace {
// Splits up to this size stay on a GPU for the whole run; larger ones are uploaded batch by batch.
constexpr int64_t kResidentBytes = int64_t{4} << 30;

data::SplitData on_device(const data::SplitData& split, const c10::Device& device) {
  if (device.is_cpu() || split.images.nbytes() > kResidentBytes || !core::gpu_lever("resident")) return split;
  // One copy for the whole run: a plain one (staging it in pinned memory would only cost a pinned
  // allocation of the split's size).
  return {split.images.to(device), split.labels.to(device)};
}

// The best validation score so far, of the kind that selects (config.select).
double best_score(const run::TrainConfig& config, const run::RunState& state) {
  if (config.select == "loss") return state.best_val_loss;
  return config.select == "acc" ? state.best_val_acc : state.best_val_auc;
}
}  // namespace

TrainResult Trainer::run(TrainObserver& observer) {
  const data::Task task = data_.info->task;
  const int64_t n = data_.train.size();
  MN_CHECK(n > 0, "the training split is empty");
  MN_CHECK(data_.val.size() > 0, "the validation split is empty: checkpoints are chosen on it");
  if (!config_.augment.empty()) {
    std::string names;
    for (const auto& t : config_.augment) names += (names.empty() ? "" : ", ") + t.type;
    observer.on_message("augmenting training batches: " + names);
  }
  if (main_rank()) run::write_config(files_.config(), config_);
  for (const auto& note : notes_) observer.on_message(note);
  notes_.clear();
  if (dp_) {
    // Every rank starts from rank 0's weights, optimizer state and (when resuming) run state.
    std::string st = dp_->is_main() ? run::state_json(state_) : std::string();
    dp_->broadcast_start(*optimizer_, st);
    if (!dp_->is_main()) state_ = run::parse_state(nlohmann::json::parse(st), "rank 0's run state");
    observer.on_message("data-parallel: rank " + std::to_string(dp_->group().rank()) + " of " +
                        std::to_string(dp_->group().size()) + " (" + dp_->group().backend() +
                        "), each global batch of " + std::to_string(config_.batch_size) +
                        " split between the ranks");
  }

  // A frozen backbone without augmentation sees the same images every epoch: its features are
  // computed once and the epochs train only the head.
  // The splits the epochs read stay on the device (a few MB at MedMNIST sizes): no copy per batch.
  train_split_ = on_device(data_.train, device_);
  val_split_ = on_device(data_.val, device_);
  epoch_writer_ = std::make_unique<run::EpochWriter>(files_);
  TrainResult result;
  result.feature_cache = all_frozen_ && config_.augment.empty() && config_.mixup == 0 &&
                         config_.cutmix == 0 && !config_.distill.active() && model_->can_embed();
  const int start_epoch = state_.epochs_done();
  at::Tensor cached_train, cached_val;
  double setup_seconds = 0;
  if (result.feature_cache && start_epoch < config_.epochs) {
    const auto c0 = std::chrono::steady_clock::now();
    cached_train = embed_split(data_.train);
    cached_val = embed_split(data_.val);
    setup_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
    std::ostringstream os;
    os.precision(3);
    os << "frozen backbone: features of " << n + data_.val.size() << " images cached in " << setup_seconds
       << " s (counted in the first epoch's time); epochs train only the head";
    observer.on_message(os.str());
  }
  if (initial_candidate_ && start_epoch == 0 && main_rank()) {
    result.initial_val = engine::evaluate_model(*model_, data_.val, task, device_, config_.eval_batch_size);
    observer.on_initial_score(result.initial_val);
    if (std::isfinite(result.initial_val.scores.auc)) {
      state_.best_val_auc = result.initial_val.scores.auc;
      state_.best_val_loss = result.initial_val.loss;
      state_.best_val_acc = result.initial_val.scores.acc;
      initial_kept_ = true;
      run::record_checkpoint(state_, files_.best(), run::save_module(*model_, files_.best()));
    }
  }

  if (start_epoch >= config_.epochs) {
    observer.on_message("nothing to do: the run already finished " + std::to_string(start_epoch) + " epochs");
  } else if (config_.patience > 0 && state_.bad_epochs >= config_.patience) {
    observer.on_message("nothing to do: the run already stopped early");
    result.reason = run::StopReason::EarlyStopped;
  }

  for (int epoch = start_epoch; epoch < config_.epochs && result.reason == run::StopReason::Completed;
       ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = lr_at(config_.schedule, config_.lr, epoch, config_.epochs, config_.warmup_epochs);
    for (size_t g = 0; g < optimizer_->param_groups().size(); ++g)
      optimizer_->param_groups()[g].options().set_lr(lr * group_lr_scale_.at(g));
    run::EpochRecord rec;
    rec.epoch = epoch + 1;
    rec.lr = lr;
    if (!train_epoch(epoch, cached_train, rec, result, observer)) break;  // the unfinished epoch is discarded
    observer.on_train_pass_end(rec.epoch);
    if (dp_) dp_->broadcast_buffers();  // rank 0's BatchNorm statistics are the model's

    // Rank 0 scores the epoch, writes the checkpoints and decides; the others follow its decision.
    int64_t decision = 0;                    // 1: improved, 2: stop early
    std::optional<core::FileWriter> scored;  // the weight average validation scored, snapshotted there
    if (main_rank()) {
      engine::Evaluation val;
      const engine::Autocast autocast(config_.precision, device_);
      const AverageSwapped averaged(average_.get());
      if (result.feature_cache) {
        model_->eval();
        val = engine::evaluate_batches(
            task, data_.val.labels, config_.eval_batch_size,
            [&](int64_t s, int64_t l) { return model_->classify(cached_val.narrow(0, s, l)); });
        model_->train();
      } else {
        val = engine::evaluate_model(*model_, val_split_, task, device_, config_.eval_batch_size);
      }
      rec.val_loss = val.loss;
      rec.val_auc = val.scores.auc;
      rec.val_acc = val.scores.acc;
      if (average_) scored = run::module_snapshot(*model_);
    }
    rec.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() + setup_seconds;
    setup_seconds = 0;
    state_.train_seconds += rec.seconds;
    state_.history.push_back(rec);

    if (main_rank()) {
      const bool improved = improves(rec);
      if (improved) {
        state_.best_val_auc = rec.val_auc;
        state_.best_val_loss = rec.val_loss;
        state_.best_val_acc = rec.val_acc;
        state_.best_epoch = rec.epoch;
        state_.bad_epochs = 0;
        initial_kept_ = false;
      } else {
        ++state_.bad_epochs;
      }
      submit_epoch(improved, std::move(scored));
      observer.on_epoch_end(rec, improved);
      const bool stop =
          config_.patience > 0 && state_.bad_epochs >= config_.patience && epoch + 1 < config_.epochs;
      if (stop) {
        observer.on_message("early stop: validation " + run::selection_score(config_) +
                            " has not improved for " + std::to_string(state_.bad_epochs) + " epochs (best " +
                            std::to_string(best_score(config_, state_)) + " at epoch " +
                            std::to_string(state_.best_epoch) + ")");
      }
      decision = (improved ? 1 : 0) | (stop ? 2 : 0);
    }
    if (dp_) decision = dp_->broadcast_int(decision);
    if (!main_rank()) {
      if (decision & 1) state_.best_epoch = rec.epoch;
      observer.on_epoch_end(rec, (decision & 1) != 0);
    }
    if (decision & 2) result.reason = run::StopReason::EarlyStopped;
  }
  finish(result, observer);
  return result;
}

std::string early_stop_rule(const run::TrainConfig& config) {
  if (config.patience <= 0) return "no early stop";
  return "early stop after " + std::to_string(config.patience) + " epochs without a better val " +
         run::selection_score(config);
}

int64_t Trainer::steps_per_epoch() const {
  return (data_.train.size() + config_.batch_size - 1) / config_.batch_size;
}

bool Trainer::improves(const run::EpochRecord& rec) const {
  if (config_.select == "loss") return std::isfinite(rec.val_loss) && rec.val_loss < state_.best_val_loss;
  if (config_.select == "acc")
    return std::isfinite(rec.val_acc) && (rec.val_acc > state_.best_val_acc ||
                                          (rec.val_acc == state_.best_val_acc && std::isfinite(rec.val_auc) &&
                                           rec.val_auc > state_.best_val_auc));
  return std::isfinite(rec.val_auc) && rec.val_auc > state_.best_val_auc;
}

void Trainer::submit_epoch(bool improved, std::optional<core::FileWriter> average_now) {
  // Staged, recorded in state.json, then renamed into place (run/journal.h), from snapshots taken now,
  // while the next epoch trains: a kill at any moment leaves one whole epoch to resume from.
  const core::FileWriter model_now = run::module_snapshot(*model_);
  std::vector<run::EpochFile> files{
      run::staged_from(files_.last(), model_now),
      run::staged_from(files_.last_optimizer(), run::optimizer_snapshot(*optimizer_))};
  const core::FileWriter scored = average_now ? *average_now : model_now;  // what validation scored
  if (average_) {
    MN_CHECK(average_now.has_value(), "the weight average was not snapshotted at validation");
    files.push_back(run::staged_from(files_.last_ema(), scored));
    state_.ema_updates = average_->updates();
  }
  if (improved) files.push_back(run::staged_from(files_.best(), scored));
  epoch_writer_->submit(state_, std::move(files));
}

void Trainer::finish(TrainResult& result, TrainObserver& observer) {
  if (epoch_writer_) epoch_writer_->wait(state_);  // the last epoch committed (or its error thrown)
  result.history = state_.history;
  result.epochs_run = state_.epochs_done();
  result.best_epoch = state_.best_epoch;
  result.initial_kept = initial_kept_;
  result.train_seconds = state_.train_seconds;
  result.backbone = state_.backbone;
  result.trainable_params = models::count_parameters(*model_);
  result.params = models::count_parameters(*model_, /*trainable_only=*/false);
  if (!main_rank()) return;  // rank 0 scores the best checkpoint and writes metrics.json
  if (result.has_best()) {
    observer.on_message(
        "restoring the best checkpoint (" +
        (initial_kept_ ? std::string("the starting model") : "epoch " + std::to_string(state_.best_epoch)) +
        ", validation AUC " + std::to_string(state_.best_val_auc) +
        (config_.select == "auc"
             ? std::string()
             : ", " + run::selection_score(config_) + " " + std::to_string(best_score(config_, state_))) +
        (average_ ? "; the weight average" : "") + ")");
    run::verify_checkpoint(state_, files_.best());
    run::load_module(*model_, files_.best(), device_);
    const data::Task task = data_.info->task;
    const engine::FlipSets views = engine::tta_views(config_.tta, config_.augment);
    if (!views.empty())
      observer.on_message("test-time augmentation: val and test probabilities are the mean over " +
                          std::to_string(views.size()) + " flipped views");
    const engine::Autocast autocast(config_.precision, device_);
    result.val = engine::evaluate_model(*model_, data_.val, task, device_, config_.eval_batch_size, views);
    result.test = engine::evaluate_model(*model_, data_.test, task, device_, config_.eval_batch_size, views);
  }
  write_metrics(result);
}

void Trainer::write_metrics(const TrainResult& r) const {
  run::RunMetrics m;
  m.dataset = config_.dataset;
  m.size = config_.size;
  m.model = config_.model.name;
  m.seed = config_.seed;
  m.epochs_run = r.epochs_run;
  m.best_epoch = r.best_epoch;
  m.params = r.params;
  m.train_seconds = r.train_seconds;
  m.stop_reason = run::stop_reason_name(r.reason);
  m.threads = at::get_num_threads();
  m.device = device_.str();
  m.data_file = data_.path;
  m.md5 = data::md5_status_name(data_.md5);
  m.backbone = r.backbone;
  m.trainable_params = r.trainable_params;
  m.feature_cache = r.feature_cache;
  m.selection = "checkpoint with the best validation " + run::selection_score(config_) +
                (config_.select == "acc" ? " (ties: the better AUC)" : "") +
                (average_ ? ", of the weight average" : "");
  if (r.has_best()) {
    auto record = [&](const char* split, const data::SplitData& d, const engine::Evaluation& e) {
      const run::SplitIdentity id{config_.dataset, config_.size, split,
                                  "seed" + std::to_string(config_.seed)};
      return run::record_split(files_.dir, id, data_.info->task, d.labels, e);
    };
    m.val = record("val", data_.val, r.val);
    m.test = record("test", data_.test, r.test);
  }
  run::write_metrics(files_.metrics(), m);
}

}  // namespace mednet::train
