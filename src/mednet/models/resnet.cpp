#include "mednet/models/resnet.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/models/layers.h"

namespace mednet::models {

ResBlockImpl::ResBlockImpl(int d, BlockKind kind, int64_t in, int64_t width, int64_t stride, bool skip)
    : skip_(skip) {
  const int64_t out = width * expansion(kind);
  // (in, out, kernel, stride, padding) of each convolution; the stride sits on the 3x3 one.
  std::vector<std::array<int64_t, 5>> plan;
  if (kind == BlockKind::Basic) {
    plan = {{in, width, 3, stride, 1}, {width, width, 3, 1, 1}};
  } else {
    plan = {{in, width, 1, 1, 0}, {width, width, 3, stride, 1}, {width, out, 1, 1, 0}};
  }
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto& p = plan[i];
    auto c = conv(d, p[0], p[1], p[2], p[3], p[4], /*bias=*/false);
    auto b = batch_norm(d, p[1]);
    register_module("conv" + std::to_string(i + 1), c.ptr());
    register_module("bn" + std::to_string(i + 1), b.ptr());
    convs_.emplace_back(std::move(c), std::move(b));
  }
  if (skip_ && (stride != 1 || in != out)) {
    downsample_ = torch::nn::Sequential(conv(d, in, out, 1, stride, 0, false), batch_norm(d, out));
    register_module("downsample", downsample_);
  }
}

at::Tensor ResBlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = x;
  for (size_t i = 0; i < convs_.size(); ++i) {
    h = convs_[i].second.forward(convs_[i].first.forward(h));
    if (i + 1 < convs_.size()) h = torch::relu_(h);
  }
  if (skip_) h = h + (downsample_ ? downsample_->forward(x) : x);
  return torch::relu_(h);
}

ResNetImpl::ResNetImpl(ResNetOptions o) : options_(std::move(o)) {
  const int d = options_.spatial_dims();
  MN_CHECK(d == 2 || d == 3, "ResNetOptions: spatial_dims must be 2 or 3, got ", d);
  MN_CHECK(!options_.layers().empty() && options_.layers().size() == options_.widths().size(),
           "ResNetOptions: layers and widths must have the same, non-zero number of stages (got ",
           options_.layers().size(), " and ", options_.widths().size(), ")");
  MN_CHECK(options_.classes() >= 1, "ResNetOptions: classes must be >= 1");
  MN_CHECK(options_.dropout() >= 0 && options_.dropout() < 1, "ResNetOptions: dropout must be in [0, 1)");
  const int64_t w0 = options_.widths().front();
  if (options_.small_stem()) {
    conv1_ = conv(d, options_.in_channels(), w0, 3, 1, 1, false);
  } else {
    conv1_ = conv(d, options_.in_channels(), w0, 7, 2, 3, false);
    if (d == 2) {
      pool_ = torch::nn::AnyModule(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
    } else {
      pool_ = torch::nn::AnyModule(torch::nn::MaxPool3d(torch::nn::MaxPool3dOptions(3).stride(2).padding(1)));
    }
  }
  bn1_ = batch_norm(d, w0);
  register_module("conv1", conv1_.ptr());
  register_module("bn1", bn1_.ptr());

  int64_t in = w0;
  for (size_t s = 0; s < options_.layers().size(); ++s) {
    torch::nn::Sequential stage;
    const int64_t width = options_.widths()[s];
    for (int64_t b = 0; b < options_.layers()[s]; ++b) {
      const int64_t stride = (s > 0 && b == 0) ? 2 : 1;
      stage->push_back(ResBlock(d, options_.block(), in, width, stride, options_.skip()));
      in = width * ResBlockImpl::expansion(options_.block());
    }
    stages_.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  avgpool_ = global_avg_pool(d);
  fc_ = register_module("fc", torch::nn::Linear(in, options_.classes()));

  // torchvision's initialisation: He normal (fan_out) for convolutions, BN at (1, 0).
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c2 = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(c2->weight, 0, torch::kFanOut, torch::kReLU);
    } else if (auto* c3 = m->as<torch::nn::Conv3d>()) {
      torch::nn::init::kaiming_normal_(c3->weight, 0, torch::kFanOut, torch::kReLU);
    }
  }
}

at::Tensor ResNetImpl::stem(const at::Tensor& x) {
  at::Tensor h = bn1_.forward(conv1_.forward(x)).relu_();
  if (!pool_.is_empty()) h = pool_.forward(h);
  return h;
}

at::Tensor ResNetImpl::head(const at::Tensor& fmap) {
  at::Tensor h = avgpool_.forward(fmap).flatten(1);
  if (options_.dropout() > 0) h = torch::dropout(h, options_.dropout(), is_training());
  return fc_->forward(h);
}

at::Tensor ResNetImpl::forward(const at::Tensor& x) {
  at::Tensor h = stem(x);
  for (auto& stage : stages_) h = stage->forward(h);
  return head(h);
}

std::vector<std::string> ResNetImpl::feature_layers() const {
  std::vector<std::string> names{"stem"};
  for (size_t s = 0; s < stages_.size(); ++s) names.push_back("layer" + std::to_string(s + 1));
  return names;
}

std::pair<at::Tensor, at::Tensor> ResNetImpl::forward_at(const at::Tensor& x, const std::string& layer) {
  const size_t target = layer_index(layer);
  at::Tensor h = stem(x);
  at::Tensor fmap = h;
  for (size_t s = 0; s < stages_.size(); ++s) {
    h = stages_[s]->forward(h);
    if (s + 1 == target) fmap = h;
  }
  return {fmap, head(h)};
}

at::Tensor ResNetImpl::forward_from(const at::Tensor& fmap, const std::string& layer) {
  at::Tensor h = fmap;
  for (size_t s = layer_index(layer); s < stages_.size(); ++s) h = stages_[s]->forward(h);
  return head(h);
}

int ResNetImpl::block_of(const std::string& param) const {
  if (param.rfind("layer", 0) == 0) return std::stoi(param.substr(5)) + 1;
  if (param.rfind("fc.", 0) == 0) return 0;
  return 1;  // conv1, bn1
}

ResNetOptions resnet_options(int depth, int64_t classes) {
  switch (depth) {
    case 18:
      return ResNetOptions(classes, BlockKind::Basic, {2, 2, 2, 2});
    case 34:
      return ResNetOptions(classes, BlockKind::Basic, {3, 4, 6, 3});
    case 50:
      return ResNetOptions(classes, BlockKind::Bottleneck, {3, 4, 6, 3});
    case 101:
      return ResNetOptions(classes, BlockKind::Bottleneck, {3, 4, 23, 3});
    case 152:
      return ResNetOptions(classes, BlockKind::Bottleneck, {3, 8, 36, 3});
    default:
      MN_CHECK_USAGE(false, "ResNet depth must be 18, 34, 50, 101 or 152, got ", depth);
  }
  return ResNetOptions(classes, BlockKind::Basic, {});
}

}  // namespace mednet::models
