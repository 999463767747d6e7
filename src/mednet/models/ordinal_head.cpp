#include "mednet/models/ordinal_head.h"

#include <torch/torch.h>

#include "mednet/core/error.h"

namespace mednet::models {

at::Tensor corn_log_probs(const at::Tensor& l) {
  MN_CHECK(l.dim() == 2 && l.size(1) >= 1, "CORN needs conditional logits [N, K - 1], got ", l.sizes());
  const at::Tensor log_s = torch::log_sigmoid(l);        // log P(> k | > k - 1)
  const at::Tensor log_not_s = torch::log_sigmoid(-l);   // log P(= k | > k - 1)
  const at::Tensor log_above = torch::cumsum(log_s, 1);  // log P(> k)
  // log P(> k - 1) for k = 0 .. K - 2: 0 (certain) for k = 0, then log_above shifted by one.
  const at::Tensor log_reach =
      torch::cat({torch::zeros_like(log_s.narrow(1, 0, 1)), log_above.narrow(1, 0, l.size(1) - 1)}, 1);
  return torch::cat({log_reach + log_not_s, log_above.narrow(1, l.size(1) - 1, 1)}, 1);
}

CornImpl::CornImpl(Classifier net) : net_(std::move(net)) {
  MN_CHECK(net_ != nullptr, "CORN needs a network");
  for (const auto& child : net_->named_children()) register_module(child.key(), child.value());
  for (const auto& p : net_->named_parameters(false)) register_parameter(p.key(), p.value());
  for (const auto& b : net_->named_buffers(false)) register_buffer(b.key(), b.value());
}

at::Tensor CornImpl::forward(const at::Tensor& x) {
  return corn_log_probs(net_->forward(x));
}

std::pair<at::Tensor, at::Tensor> CornImpl::forward_at(const at::Tensor& x, const std::string& layer) {
  auto [fmap, logits] = net_->forward_at(x, layer);
  return {fmap, corn_log_probs(logits)};
}

at::Tensor CornImpl::forward_from(const at::Tensor& fmap, const std::string& layer) {
  return corn_log_probs(net_->forward_from(fmap, layer));
}

at::Tensor CornImpl::classify(const at::Tensor& features) {
  return corn_log_probs(net_->classify(features));
}

void CornImpl::train(bool on) {
  ClassifierImpl::train(on);
  net_->train(on);
}

}  // namespace mednet::models
