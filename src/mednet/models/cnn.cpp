#include "mednet/models/cnn.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include "mednet/core/error.h"
#include "mednet/models/layers.h"

namespace mednet::models {

size_t ClassifierImpl::layer_index(const std::string& layer) const {
  const auto names = feature_layers();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == layer) return i;
  std::string valid;
  for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
  MN_CHECK_USAGE(false, "no layer '", layer, "' in this ", kind(), " (valid: ", valid, ")");
  return 0;
}

at::Tensor ClassifierImpl::embed(const at::Tensor&) {
  MN_CHECK(false, kind(), " cannot split its forward pass into backbone features and head");
  return {};
}

at::Tensor ClassifierImpl::forward_from(const at::Tensor&, const std::string& layer) {
  MN_CHECK_USAGE(false, "a ", kind(), " cannot resume its forward pass at layer '", layer, "'");
  return {};
}

at::Tensor ClassifierImpl::classify(const at::Tensor&) {
  MN_CHECK(false, kind(), " cannot split its forward pass into backbone features and head");
  return {};
}

int64_t count_parameters(const torch::nn::Module& m, bool trainable_only) {
  int64_t n = 0;
  for (const auto& p : m.parameters())
    if (p.requires_grad() || !trainable_only) n += p.numel();
  return n;
}

CnnImpl::CnnImpl(CnnOptions o) : options_(std::move(o)) {
  const int d = options_.spatial_dims();
  MN_CHECK(d == 2 || d == 3, "CnnOptions: spatial_dims must be 2 or 3, got ", d);
  MN_CHECK(options_.classes() >= 1, "CnnOptions: classes must be >= 1");
  MN_CHECK(!options_.widths().empty(), "CnnOptions: widths must name at least one stage");
  MN_CHECK(options_.convs_per_stage() >= 1, "CnnOptions: convs_per_stage must be >= 1");
  MN_CHECK(options_.dropout() >= 0 && options_.dropout() < 1, "CnnOptions: dropout must be in [0, 1)");

  features_ = torch::nn::Sequential();
  int64_t in = options_.in_channels();
  int64_t spatial = options_.input_size();
  for (int64_t width : options_.widths()) {
    for (int c = 0; c < options_.convs_per_stage(); ++c) {
      features_->push_back(conv(d, in, width, 3, 1, 1, /*bias=*/false));
      features_->push_back(batch_norm(d, width));
      features_->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
      in = width;
    }
    MN_CHECK(spatial >= 2, "CnnOptions: input size ", options_.input_size(), " is too small for ",
             options_.widths().size(), " pooling stages");
    features_->push_back(max_pool(d, 2));
    spatial /= 2;
  }
  register_module("features", features_);

  head_ = torch::nn::Sequential();
  int64_t flat = in;
  if (options_.global_pool()) {
    head_->push_back(global_avg_pool(d));
  } else {
    for (int i = 0; i < d; ++i) flat *= spatial;
  }
  head_->push_back(torch::nn::Flatten());
  append_dense_head(head_, flat, options_.hidden(), options_.dropout(), options_.classes());
  register_module("head", head_);
}

at::Tensor CnnImpl::forward(const at::Tensor& x) {
  return head_->forward(features_->forward(x));
}

std::vector<std::string> CnnImpl::feature_layers() const {
  std::vector<std::string> names;
  for (size_t s = 0; s < options_.widths().size(); ++s) names.push_back("stage" + std::to_string(s + 1));
  return names;
}

int CnnImpl::block_of(const std::string& param) const {
  // features.<i>.weight: stage = i / (layers per stage) + 1.
  if (param.rfind("features.", 0) != 0) return 0;
  const size_t per_stage = 3 * static_cast<size_t>(options_.convs_per_stage()) + 1;
  return static_cast<int>(std::stoul(param.substr(9)) / per_stage) + 1;
}

std::pair<at::Tensor, at::Tensor> CnnImpl::forward_at(const at::Tensor& x, const std::string& layer) {
  // Each stage is [conv, bn, relu] x convs_per_stage, then a max-pool; the map is taken before the pool.
  const size_t stage = layer_index(layer);
  const size_t per_stage = 3 * static_cast<size_t>(options_.convs_per_stage()) + 1;
  const size_t pool_at = (stage + 1) * per_stage - 1;
  at::Tensor h = x, fmap;
  size_t i = 0;
  for (auto it = features_->begin(); it != features_->end(); ++it, ++i) {
    if (i == pool_at) fmap = h;
    h = it->forward(h);
  }
  return {fmap, head_->forward(h)};
}

at::Tensor CnnImpl::forward_from(const at::Tensor& fmap, const std::string& layer) {
  const size_t per_stage = 3 * static_cast<size_t>(options_.convs_per_stage()) + 1;
  const size_t pool_at = (layer_index(layer) + 1) * per_stage - 1;
  at::Tensor h = fmap;
  size_t i = 0;
  for (auto it = features_->begin(); it != features_->end(); ++it, ++i)
    if (i >= pool_at) h = it->forward(h);
  return head_->forward(h);
}

}  // namespace mednet::models
