// What the optimizer minimises: the label loss with its options (smoothing, class weights, soft ordinal
// labels), distillation from teacher runs, and the class-balanced order of the training rows.
#include <algorithm>
#include <numeric>
#include <random>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"
#include "mednet/run/open_run.h"
#include "mednet/train/trainer.h"

namespace mednet::train {

void Trainer::setup_loss() {
  const data::DatasetInfo& info = *data_.info;
  const int64_t classes = data::input_shape(info, data_.size).outputs;
  loss_options_.smoothing = config_.label_smoothing;
  loss_options_.soft_ordinal = config_.soft_ordinal;
  if (config_.balance == "weights") {
    loss_options_.class_weights = engine::class_balance_weights(data_.train.labels, classes).to(device_);
    std::string w;
    for (int64_t k = 0; k < classes; ++k)
      w += (k ? ", " : "") + core::format_fixed(loss_options_.class_weights[k].item<double>(), 3);
    notes_.push_back("class-balanced loss weights (N / (K n_k)): " + w);
  } else if (config_.balance == "sampler") {
    row_weights_ = engine::balanced_row_weights(data_.train.labels, classes);
    notes_.push_back("class-balanced sampling: each epoch draws " + std::to_string(data_.train.size()) +
                     " training rows with replacement, every class equally likely");
  }
  for (const auto& dir : config_.distill.teachers) {
    run::OpenRunOptions o;
    o.load_data = false;
    o.device = device_;
    run::OpenRun t = [&] {
      try {
        return run::open_run(dir, o);
      } catch (const Error& e) {
        throw Error("distill.teacher: " + std::string(e.what()), e.kind());
      }
    }();
    MN_CHECK_USAGE(t.config.dataset == config_.dataset && t.config.size == config_.size, "distill.teacher ",
                   dir, " was trained on ", t.config.dataset, " at ", t.config.size, " px, not on ",
                   config_.dataset, " at ", config_.size, " px");
    for (auto& p : t.model->parameters()) p.requires_grad_(false);
    t.model->eval();
    teachers_.push_back(t.model);
  }
  if (!teachers_.empty())
    notes_.push_back("distillation from " + std::to_string(teachers_.size()) + " teacher run(s): alpha " +
                     core::format_fixed(config_.distill.alpha, 3) + ", temperature " +
                     core::format_fixed(config_.distill.temperature, 3));
}

std::vector<int64_t> draw_epoch_order(int64_t n, const std::vector<double>& row_weights, uint64_t seed) {
  MN_CHECK(row_weights.empty() || static_cast<int64_t>(row_weights.size()) == n,
           "draw_epoch_order: ", row_weights.size(), " row weights for ", n, " rows");
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::mt19937_64 rng(seed);
  if (row_weights.empty()) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    return order;
  }
  std::discrete_distribution<int64_t> draw(row_weights.begin(), row_weights.end());
  for (auto& i : order) i = draw(rng);
  return order;
}

at::Tensor Trainer::step_loss(const at::Tensor& logits, const at::Tensor& input, const at::Tensor& labels,
                              const augment::MixedBatch& mixed) const {
  const data::Task task = data_.info->task;
  const at::Tensor label_loss = augment::mixed_loss(mixed, labels, [&](const at::Tensor& targets) {
    return engine::training_loss(task, logits, targets, loss_options_);
  });
  if (teachers_.empty()) return label_loss;
  at::Tensor teacher_probs;
  {
    torch::NoGradGuard no_grad;
    for (const auto& t : teachers_) {
      const at::Tensor p =
          engine::tempered_probabilities(task, t->forward(input), config_.distill.temperature);
      teacher_probs = teacher_probs.defined() ? teacher_probs + p : p;
    }
    teacher_probs = teacher_probs / static_cast<double>(teachers_.size());
  }
  const double a = config_.distill.alpha;
  return label_loss * (1 - a) +
         engine::distill_loss(task, logits, teacher_probs, config_.distill.temperature) * a;
}

}  // namespace mednet::train
