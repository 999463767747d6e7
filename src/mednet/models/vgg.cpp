#include "mednet/models/vgg.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "mednet/core/error.h"
#include "mednet/models/layers.h"

namespace mednet::models {

namespace {
// torchvision's configuration "D": channel counts, 0 = max-pool.
const std::vector<int64_t> kVgg16 = {64, 64,  0,   128, 128, 0,   256, 256, 256,
                                     0,  512, 512, 512, 0,   512, 512, 512, 0};
}  // namespace

VggImpl::VggImpl(VggOptions o) : options_(std::move(o)) {
  MN_CHECK(options_.classes() >= 1, "VggOptions: classes must be >= 1");
  MN_CHECK(options_.in_channels() == 1 || options_.in_channels() == 3,
           "VggOptions: in_channels must be 1 or 3, got ", options_.in_channels());
  MN_CHECK(options_.input_size() == 0 || options_.input_size() >= 32,
           "VggOptions: input_size must be 0 (keep) or >= 32 (five 2x poolings), got ",
           options_.input_size());
  MN_CHECK(options_.dropout() >= 0 && options_.dropout() < 1, "VggOptions: dropout must be in [0, 1)");
  features_ = torch::nn::Sequential();
  int64_t in = 3;
  for (int64_t v : kVgg16) {
    if (v == 0) {
      pool_at_.push_back(features_->size());
      features_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
      continue;
    }
    torch::nn::Conv2d c(torch::nn::Conv2dOptions(in, v, 3).padding(1));
    // torchvision's initialisation of VGG.
    torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    torch::nn::init::zeros_(c->bias);
    features_->push_back(c);
    features_->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    in = v;
  }
  register_module("features", features_);
  head_ = torch::nn::Sequential();
  append_dense_head(head_, in, options_.hidden(), options_.dropout(), options_.classes());
  register_module("head", head_);
}

at::Tensor prepare_vgg_input(const at::Tensor& x, int64_t s, bool imagenet_norm) {
  MN_CHECK(x.dim() == 4, "vgg16 takes [N, C, H, W] images, got ", x.dim(), " dimensions");
  at::Tensor h = x.size(1) == 1 ? x.expand({x.size(0), 3, x.size(2), x.size(3)}) : x;
  if (s > 0 && (h.size(2) != s || h.size(3) != s)) {
    namespace F = torch::nn::functional;
    h = F::interpolate(h, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{s, s})
                              .mode(torch::kBilinear)
                              .align_corners(false));
  }
  if (imagenet_norm) {
    // The network input is in [-1, 1]; ImageNet statistics are for [0, 1].
    const auto opts = h.options();
    const at::Tensor mean = torch::tensor({0.485, 0.456, 0.406}, opts).view({1, 3, 1, 1});
    const at::Tensor std = torch::tensor({0.229, 0.224, 0.225}, opts).view({1, 3, 1, 1});
    h = ((h + 1) * 0.5 - mean) / std;
  }
  return h;
}

at::Tensor VggImpl::prepare(const at::Tensor& x) const {
  return prepare_vgg_input(x, options_.input_size(), options_.imagenet_norm());
}

at::Tensor VggImpl::embed(const at::Tensor& x) {
  return features_->forward(prepare(x)).mean({2, 3});
}

at::Tensor VggImpl::classify(const at::Tensor& features) {
  return head_->forward(features);
}

at::Tensor VggImpl::forward(const at::Tensor& x) {
  return classify(embed(x));
}

std::vector<std::string> VggImpl::feature_layers() const {
  return {"block1", "block2", "block3", "block4", "block5"};
}

int VggImpl::block_of(const std::string& param) const {
  if (param.rfind("features.", 0) != 0) return 0;
  const size_t index = std::stoul(param.substr(9));
  for (size_t b = 0; b < pool_at_.size(); ++b)
    if (index < pool_at_[b]) return static_cast<int>(b) + 1;
  return static_cast<int>(pool_at_.size());
}

std::pair<at::Tensor, at::Tensor> VggImpl::forward_at(const at::Tensor& x, const std::string& layer) {
  const size_t pool = pool_at_[layer_index(layer)];
  at::Tensor h = prepare(x), fmap;
  size_t i = 0;
  for (auto it = features_->begin(); it != features_->end(); ++it, ++i) {
    if (i == pool) fmap = h;
    h = it->forward(h);
  }
  return {fmap, classify(h.mean({2, 3}))};
}

at::Tensor VggImpl::forward_from(const at::Tensor& fmap, const std::string& layer) {
  const size_t pool = pool_at_[layer_index(layer)];
  at::Tensor h = fmap;
  size_t i = 0;
  for (auto it = features_->begin(); it != features_->end(); ++it, ++i)
    if (i >= pool) h = it->forward(h);
  return classify(h.mean({2, 3}));
}

}  // namespace mednet::models
