#include "mednet/engine/evaluate.h"

#include <cmath>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"

namespace mednet::engine {

at::Tensor task_loss(data::Task task, const at::Tensor& logits, const at::Tensor& labels, double smoothing) {
  if (task == data::Task::MultiLabel) {
    at::Tensor y = labels.to(logits.scalar_type());
    if (smoothing > 0) y = y * (1 - smoothing) + smoothing / 2;
    return torch::binary_cross_entropy_with_logits(logits, y);
  }
  return torch::cross_entropy_loss(logits, labels.select(1, 0), {}, at::Reduction::Mean, -100, smoothing);
}

void check_finite_probabilities(const at::Tensor& probs) {
  if (!probs.defined() || probs.numel() == 0) return;
  const at::Tensor bad_rows = (~torch::isfinite(probs)).reshape({probs.size(0), -1}).any(1);
  const int64_t bad = bad_rows.sum().item<int64_t>();
  if (bad == 0) return;
  const int64_t first = bad_rows.nonzero().index({0, 0}).item<int64_t>();
  MN_CHECK(false, "the model's probabilities are not finite for ", bad, " of ", probs.size(0),
           " images (the first is row ", first,
           "): its weights or the inputs hold NaN or infinity; nothing is scored or written");
}

Evaluation evaluate_batches(data::Task task, const at::Tensor& labels, int batch_size,
                            const LogitsFn& logits_of) {
  MN_CHECK(batch_size >= 1, "evaluation batch size must be >= 1, got ", batch_size);
  torch::NoGradGuard no_grad;
  metrics::Accumulator acc(task);
  at::Tensor loss_sum;  // in double on the logits' device, read once at the end (no wait per batch)
  const int64_t n = labels.size(0);
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t len = std::min<int64_t>(batch_size, n - start);
    at::Tensor logits = logits_of(start, len);
    at::Tensor y = core::upload(labels.narrow(0, start, len), logits.device());
    const at::Tensor part = task_loss(task, logits, y).to(at::kDouble) * static_cast<double>(len);
    loss_sum = loss_sum.defined() ? loss_sum + part : part;
    acc.update(y, metrics::probabilities(task, logits));
  }
  Evaluation e;
  e.probs = acc.probs();
  check_finite_probabilities(e.probs);
  e.loss = n > 0 ? loss_sum.item<double>() / static_cast<double>(n) : std::nan("");
  e.scores = acc.compute();
  return e;
}

namespace {
// Runs f in eval mode and restores the model's mode afterwards.
template <typename F>
auto in_eval_mode(models::ClassifierImpl& model, F&& f) {
  const bool was_training = model.is_training();
  model.eval();
  auto out = f();
  model.train(was_training);
  return out;
}
}  // namespace

Evaluation evaluate_model(models::ClassifierImpl& model, const data::SplitData& split, data::Task task,
                          const c10::Device& device, int batch_size, const FlipSets& views) {
  const auto forward = [&](const at::Tensor& x) { return model.forward(x); };
  return in_eval_mode(model, [&] {
    return evaluate_batches(task, split.labels, batch_size, [&](int64_t start, int64_t len) {
      return view_logits(forward,
                         data::to_network_input(core::upload(split.images.narrow(0, start, len), device)),
                         task, views);
    });
  });
}

at::Tensor predict(models::ClassifierImpl& model, const at::Tensor& images_u8, data::Task task,
                   const c10::Device& device, int batch_size, const FlipSets& views) {
  MN_CHECK(batch_size >= 1, "prediction batch size must be >= 1, got ", batch_size);
  const auto forward = [&](const at::Tensor& x) { return model.forward(x); };
  return in_eval_mode(model, [&] {
    torch::NoGradGuard no_grad;
    std::vector<at::Tensor> parts;
    const int64_t n = images_u8.size(0);
    for (int64_t start = 0; start < n; start += batch_size) {
      const int64_t len = std::min<int64_t>(batch_size, n - start);
      const at::Tensor logits =
          view_logits(forward, data::to_network_input(core::upload(images_u8.narrow(0, start, len), device)),
                      task, views);
      parts.push_back(metrics::probabilities(task, logits));
    }
    at::Tensor probs = parts.empty() ? torch::empty({0, 0}) : torch::cat(parts).to(torch::kCPU);
    check_finite_probabilities(probs);
    return probs;
  });
}

}  // namespace mednet::engine
