// One epoch's training steps (the Trainer's inner loop), alone or as one rank of a data-parallel job.
#include <cmath>

#include <torch/torch.h>

#include "mednet/augment/augment.h"
#include "mednet/augment/mix.h"
#include "mednet/core/runtime.h"
#include "mednet/engine/autocast.h"
#include "mednet/train/grad_norm_recorder.h"
#include "mednet/train/optimizer.h"
#include "mednet/train/schedule.h"
#include "mednet/train/trainer.h"

namespace mednet::train {

bool Trainer::train_epoch(int epoch, const at::Tensor& cached_train, run::EpochRecord& rec,
                          TrainResult& result, TrainObserver& observer) {
  const data::Task task = data_.info->task;
  const data::SplitData& train = train_split_;  // on the device when it fits there
  const int64_t n = train.size();
  const int64_t steps = (n + config_.batch_size - 1) / config_.batch_size;
  const uint64_t es = epoch_seed(config_.seed, epoch);
  torch::manual_seed(es);
  // The order is drawn on the host (the same on every device) and sent once per epoch.
  std::vector<int64_t> order = draw_epoch_order(n, row_weights_, es);
  const at::Tensor perm =
      core::upload(torch::from_blob(order.data(), {n}, torch::kLong).clone(), train.images.device());
  // The network's input for the rows idx (of perm's device): cached backbone features, or images.
  const auto inputs = [&](const at::Tensor& idx) {
    if (result.feature_cache) return cached_train.index_select(0, core::upload(idx, device_));
    return data::to_network_input(core::upload(train.images.index_select(0, idx), device_));
  };
  // On a GPU the loss stays there until the epoch ends: reading it each step would make the host
  // wait for the device. A distributed job reads it each step (its step status needs it).
  const uint64_t rank_seed = dp_ ? static_cast<uint64_t>(dp_->group().rank()) : 0;
  const augment::MixSpec mix{config_.mixup, config_.cutmix};
  const bool defer_loss = !dp_ && !device_.is_cpu() && core::gpu_lever("defer-loss");
  at::Tensor deferred_loss;  // sum of loss x rows, in double on the device

  model_->train();
  observer.on_epoch_begin(epoch + 1, config_.epochs, steps);
  std::unique_ptr<GradNormRecorder> grad_norms;
  if (epoch < config_.grad_norm_epochs && main_rank())
    grad_norms = std::make_unique<GradNormRecorder>(*model_);
  metrics::Accumulator train_acc(task);
  double loss_sum = 0;
  for (int64_t step = 0; step < steps; ++step) {
    if (!dp_ && core::interrupted()) {
      result.reason = run::StopReason::Interrupted;
      return false;
    }
    const int64_t start = step * config_.batch_size;
    const int64_t len = std::min<int64_t>(config_.batch_size, n - start);
    // In a distributed job this rank takes its share of the global batch.
    const auto [offset, count] = dp_ ? dp_->shard(len) : std::pair<int64_t, int64_t>{0, len};
    clear_grads(*optimizer_);
    if (dp_) dp_->begin_step();
    double local_loss = 0;
    bool nonfinite = false;
    if (count > 0) {
      const at::Tensor idx = perm.narrow(0, start + offset, count);
      at::Tensor x;
      if (result.feature_cache || config_.augment.empty()) {
        x = inputs(idx);
      } else {
        // Augment in [0, 1] (zero padding is black), then the same mapping to [-1, 1] as evaluation.
        const at::Tensor unit = data::to_unit(core::upload(train.images.index_select(0, idx), device_));
        x = data::unit_to_network_input(
            augment::apply(config_.augment, unit, epoch_seed(es + rank_seed, static_cast<int>(step))));
      }
      at::Tensor y = core::upload(train.labels.index_select(0, idx), device_);
      // Mixup / CutMix pair rows of this rank's share; drawn apart from the augmentation's seed.
      const augment::MixedBatch mixed =
          augment::mix(mix, x, epoch_seed(~es + rank_seed, static_cast<int>(step)));
      at::Tensor logits, loss;
      {
        const engine::Autocast autocast(config_.precision, device_);
        logits = result.feature_cache ? model_->classify(mixed.images) : model_->forward(mixed.images);
        loss = step_loss(logits, mixed.images, y, mixed);
      }
      if (defer_loss) {
        const at::Tensor part = loss.detach().to(at::kDouble) * static_cast<double>(count);
        deferred_loss = deferred_loss.defined() ? deferred_loss + part : part;
      }
      const double loss_value = defer_loss ? 0.0 : loss.item<double>();
      nonfinite = !std::isfinite(loss_value);
      if (!nonfinite) {
        // Weighted by this rank's share, so that the mean over ranks is the whole batch's gradient.
        if (dp_) loss = loss * (static_cast<double>(count * dp_->group().size()) / static_cast<double>(len));
        (scaler_ ? scaler_->scale(loss) : loss).backward();
        local_loss = loss_value * static_cast<double>(count);
        train_acc.update(y, metrics::probabilities(task, logits.detach()));
      } else {
        local_loss = loss_value;
      }
    } else if (dp_ && dp_->sync_bn()) {
      // No rows here this step, but synchronised BatchNorm needs this rank in every sum: an empty batch.
      const at::Tensor x = inputs(torch::empty({0}, torch::kLong).to(perm.device()));
      ((result.feature_cache ? model_->classify(x) : model_->forward(x)).sum() * 0).backward();
    }
    double batch_loss = local_loss;
    if (dp_) {
      dp_->finish_step();
      const DataParallel::StepStatus st = dp_->step_status(local_loss, core::interrupted(), nonfinite);
      if (st.interrupted) {
        result.reason = run::StopReason::Interrupted;
        return false;
      }
      nonfinite = st.nonfinite;
      batch_loss = st.loss_sum;
    }
    if (nonfinite) {
      observer.on_message("loss became " +
                          (std::isfinite(local_loss) ? std::string("non-finite on another rank")
                                                     : std::to_string(local_loss)) +
                          " at epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(step + 1) +
                          ": stopping (try a lower --lr); the best checkpoint so far is kept");
      result.reason = run::StopReason::NanLoss;
      return false;
    }
    // fp16: gradients back to their true scale; a step whose gradients overflowed is skipped (the
    // loss scale has been lowered).
    const bool finite_grads = !scaler_ || scaler_->unscale(*optimizer_);
    if (grad_norms) grad_norms->add_step();
    if (finite_grads) {
      if (config_.optimizer == "adamw") decay_weights(*optimizer_, config_.weight_decay);
      optimizer_->step();
      if (average_) average_->update();
    }
    loss_sum += batch_loss;
    observer.on_step(step + 1, defer_loss ? std::nan("") : loss_sum / static_cast<double>(start + len));
  }
  if (defer_loss) {
    loss_sum = deferred_loss.item<double>();
    if (!std::isfinite(loss_sum)) {
      observer.on_message("loss became non-finite during epoch " + std::to_string(epoch + 1) +
                          ": stopping (try a lower --lr); the best checkpoint so far is kept");
      result.reason = run::StopReason::NanLoss;
      return false;
    }
  }
  if (grad_norms) grad_norms->flush(epoch + 1, files_.grad_norms());
  rec.train_loss = loss_sum / static_cast<double>(n);
  const metrics::Scores ts =
      dp_ ? dp_->gathered_scores(task, train_acc, data_.info->num_outputs(), data_.info->label_columns())
          : train_acc.compute();
  rec.train_auc = ts.auc;
  rec.train_acc = ts.acc;
  return true;
}

}  // namespace mednet::train
