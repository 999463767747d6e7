#include "mednet/engine/train_loss.h"

#include <torch/torch.h>

#include "mednet/core/error.h"

namespace mednet::engine {

namespace {

at::Tensor label_column(const at::Tensor& labels) {
  return labels.dim() == 2 ? labels.select(1, 0) : labels;
}

std::vector<int64_t> class_counts(const at::Tensor& labels, int64_t classes) {
  const at::Tensor y = label_column(labels).to(at::kCPU, at::kLong).contiguous();
  std::vector<int64_t> n(static_cast<size_t>(classes), 0);
  const int64_t* p = y.data_ptr<int64_t>();
  for (int64_t i = 0; i < y.numel(); ++i) {
    MN_CHECK(p[i] >= 0 && p[i] < classes, "label ", p[i], " is outside 0..", classes - 1);
    ++n[static_cast<size_t>(p[i])];
  }
  for (int64_t k = 0; k < classes; ++k)
    MN_CHECK(n[static_cast<size_t>(k)] > 0, "class ", k,
             " has no training image, so it cannot be balanced (class-balanced weights or sampling)");
  return n;
}

}  // namespace

at::Tensor soft_ordinal_targets(const at::Tensor& labels, int64_t classes, double a) {
  const at::Tensor y = label_column(labels).to(at::kFloat).unsqueeze(1);
  const at::Tensor grades = torch::arange(classes, y.options()).unsqueeze(0);
  return torch::softmax(-a * (grades - y).abs(), 1);
}

at::Tensor training_loss(data::Task task, const at::Tensor& logits, const at::Tensor& labels,
                         const LossOptions& o) {
  if (task == data::Task::MultiLabel) {
    MN_CHECK(!o.class_weights.defined() && o.soft_ordinal == 0,
             "class balance and soft ordinal labels apply to single-label tasks only");
    at::Tensor y = labels.to(logits.scalar_type());
    if (o.smoothing > 0) y = y * (1 - o.smoothing) + o.smoothing / 2;
    return torch::binary_cross_entropy_with_logits(logits, y);
  }
  const at::Tensor y = label_column(labels);
  const at::Tensor w =
      o.class_weights.defined() ? o.class_weights.to(logits.device(), at::kFloat) : at::Tensor();
  if (o.soft_ordinal <= 0)
    return torch::cross_entropy_loss(logits, y, w, at::Reduction::Mean, -100, o.smoothing);
  const at::Tensor z = logits.to(at::kFloat);
  const at::Tensor q = soft_ordinal_targets(y, z.size(1), o.soft_ordinal).to(z.device());
  const at::Tensor rows = -(q * torch::log_softmax(z, 1)).sum(1);
  if (!w.defined()) return rows.mean();
  const at::Tensor wi = w.index_select(0, y.to(at::kLong));
  return (rows * wi).sum() / wi.sum();
}

at::Tensor class_balance_weights(const at::Tensor& labels, int64_t classes) {
  const std::vector<int64_t> n = class_counts(labels, classes);
  const double total = static_cast<double>(label_column(labels).numel());
  at::Tensor w = torch::empty({classes}, torch::kFloat);
  for (int64_t k = 0; k < classes; ++k)
    w[k] = total / (static_cast<double>(classes) * static_cast<double>(n[static_cast<size_t>(k)]));
  return w;
}

std::vector<double> balanced_row_weights(const at::Tensor& labels, int64_t classes) {
  const std::vector<int64_t> n = class_counts(labels, classes);
  const at::Tensor y = label_column(labels).to(at::kCPU, at::kLong).contiguous();
  std::vector<double> w(static_cast<size_t>(y.numel()));
  const int64_t* p = y.data_ptr<int64_t>();
  for (size_t i = 0; i < w.size(); ++i) w[i] = 1.0 / static_cast<double>(n[static_cast<size_t>(p[i])]);
  return w;
}

at::Tensor tempered_probabilities(data::Task task, const at::Tensor& logits, double temperature) {
  const at::Tensor z = logits.to(at::kFloat) / temperature;
  return task == data::Task::MultiLabel ? torch::sigmoid(z) : torch::softmax(z, 1);
}

at::Tensor distill_loss(data::Task task, const at::Tensor& student_logits, const at::Tensor& teacher_probs,
                        double temperature) {
  MN_CHECK(temperature > 0, "distillation temperature must be > 0, got ", temperature);
  const at::Tensor z = student_logits.to(at::kFloat) / temperature;
  const at::Tensor p = teacher_probs.to(z.device(), at::kFloat);
  const double t2 = temperature * temperature;
  if (task == data::Task::MultiLabel) {
    const at::Tensor kl = torch::xlogy(p, p) - p * torch::log_sigmoid(z) + torch::xlogy(1 - p, 1 - p) -
                          (1 - p) * torch::log_sigmoid(-z);
    return kl.mean() * t2;
  }
  const at::Tensor kl = (torch::xlogy(p, p) - p * torch::log_softmax(z, 1)).sum(1);
  return kl.mean() * t2;
}

}  // namespace mednet::engine
