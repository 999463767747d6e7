#include "mednet/train/data_parallel.h"

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/models/batch_norm.h"
#include "mednet/run/checkpoint.h"

namespace mednet::train {

DataParallel::DataParallel(std::shared_ptr<dist::Group> group, models::ClassifierImpl& model, bool sync_bn,
                           int64_t bucket_bytes)
    : group_(std::move(group)), model_(model), sync_bn_(sync_bn) {
  MN_CHECK(group_ != nullptr, "DataParallel: no process group");
  std::vector<at::Tensor> trainable;
  for (const auto& p : model_.parameters())
    if (p.requires_grad()) trainable.push_back(p);
  sync_ = std::make_unique<dist::GradientSync>(*group_, trainable, bucket_bytes);
  if (sync_bn_) {
    dist::Group* g = group_.get();
    const int n = models::set_batch_norm_sync(
        model_, std::make_shared<models::SumOverRanks>([g](at::Tensor& t) { g->allreduce_sum(t); }));
    MN_CHECK_USAGE(n > 0, "--sync-bn: the ", model_.kind(), " has no BatchNorm layer");
  }
}

DataParallel::~DataParallel() {
  if (sync_bn_) models::set_batch_norm_sync(model_, nullptr);
}

std::pair<int64_t, int64_t> DataParallel::shard(int64_t len) const {
  const int64_t w = group_->size(), r = group_->rank();
  const int64_t base = len / w, extra = len % w;
  const int64_t count = base + (r < extra ? 1 : 0);
  const int64_t offset = r * base + std::min(r, extra);
  return {offset, count};
}

void DataParallel::broadcast_start(torch::optim::Optimizer& optimizer, std::string& state_json) {
  // The same safetensors bytes a checkpoint file holds (run/checkpoint.h).
  std::string model_bytes = is_main() ? run::module_bytes(model_) : std::string();
  std::string optimizer_bytes = is_main() ? run::optimizer_bytes(optimizer) : std::string();
  group_->broadcast_bytes(model_bytes);
  group_->broadcast_bytes(optimizer_bytes);
  group_->broadcast_bytes(state_json);
  if (is_main()) return;
  const c10::Device device =
      model_.parameters().empty() ? c10::Device(c10::kCPU) : model_.parameters()[0].device();
  run::load_module_bytes(model_, model_bytes, "rank 0's model", device);
  run::load_optimizer_bytes(optimizer, optimizer_bytes, "rank 0's optimizer state");
}

void DataParallel::broadcast_buffers() {
  torch::NoGradGuard no_grad;
  for (auto& b : model_.buffers()) {
    at::Tensor t = b;
    group_->broadcast(t);
  }
}

DataParallel::StepStatus DataParallel::step_status(double local_loss_sum, bool interrupted, bool nonfinite) {
  at::Tensor t = torch::tensor(
      {nonfinite ? 0.0 : local_loss_sum, interrupted ? 1.0 : 0.0, nonfinite ? 1.0 : 0.0}, torch::kDouble);
  group_->allreduce_sum(t);
  StepStatus s;
  s.loss_sum = t[0].item<double>();
  s.interrupted = t[1].item<double>() > 0;
  s.nonfinite = t[2].item<double>() > 0;
  return s;
}

int64_t DataParallel::broadcast_int(int64_t value) {
  at::Tensor t = torch::tensor({value}, torch::kLong);
  group_->broadcast(t);
  return t.item<int64_t>();
}

metrics::Scores DataParallel::gathered_scores(data::Task task, const metrics::Accumulator& local,
                                              int64_t outputs, int64_t label_columns) {
  // A rank without rows still sends tensors of the right width.
  const bool empty = local.count() == 0;
  const at::Tensor labels =
      empty ? torch::empty({0, label_columns}, torch::kLong) : local.labels().to(torch::kLong);
  const at::Tensor probs =
      empty ? torch::empty({0, outputs}, torch::kDouble) : local.probs().to(torch::kDouble);
  metrics::Accumulator all(task);
  all.update(group_->gather_rows(labels), group_->gather_rows(probs));
  return all.compute();
}

}  // namespace mednet::train
