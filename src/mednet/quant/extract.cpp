#include "mednet/quant/extract.h"

#include <map>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/models/batch_norm.h"
#include "mednet/models/resnet.h"
#include "mednet/models/vgg.h"

namespace mednet::quant {

namespace {

using ModuleMap = std::map<std::string, std::shared_ptr<torch::nn::Module>>;

template <size_t D, typename Options>
void read_conv_options(const Options& o, const std::string& name, Layer& layer) {
#if __has_include(<c10/util/variant.h>)  // LibTorch 1.x: c10's own variant
  const auto* pad = c10::get_if<torch::ExpandingArray<D>>(&o.padding());
#else  // LibTorch 2.x: std::variant
  const auto* pad = std::get_if<torch::ExpandingArray<D>>(&o.padding());
#endif
  MN_CHECK_USAGE(pad != nullptr, "convolution ", name, " uses 'same'/'valid' padding (no int8 form)");
  const auto k = o.kernel_size(), s = o.stride(), d = o.dilation();
  for (size_t i = 0; i < D; ++i) {
    MN_CHECK_USAGE(
        k->at(i) == k->at(0) && s->at(i) == s->at(0) && (*pad)->at(i) == (*pad)->at(0) && d->at(i) == 1,
        "convolution ", name, " has a non-cubic kernel, stride or padding, or a dilation");
  }
  MN_CHECK_USAGE(o.groups() == 1, "convolution ", name, " is grouped (no int8 form here)");
  layer.kernel = k->at(0);
  layer.stride = s->at(0);
  layer.padding = (*pad)->at(0);
}

template <size_t D, typename Options>
Layer pool_layer(const Options& o, const std::string& name) {
  Layer l;
  l.op = Layer::Op::MaxPool;
  l.dims = static_cast<int>(D);
  const auto k = o.kernel_size(), s = o.stride(), p = o.padding(), d = o.dilation();
  for (size_t i = 0; i < D; ++i) {
    MN_CHECK_USAGE(k->at(i) == k->at(0) && s->at(i) == s->at(0) && p->at(i) == p->at(0) && d->at(i) == 1,
                   "max-pool ", name, " has a non-cubic kernel, stride or padding, or a dilation");
  }
  MN_CHECK_USAGE(!o.ceil_mode(), "max-pool ", name, " uses ceil_mode");
  l.kernel = k->at(0);
  l.stride = s->at(0);
  l.padding = p->at(0);
  l.source = name;
  return l;
}

Layer& previous(std::vector<Layer>& layers, const std::string& name, const char* what) {
  MN_CHECK_USAGE(!layers.empty(), what, " ", name, " comes before any convolution or linear layer");
  return layers.back();
}

at::Tensor clone_cpu(const at::Tensor& t) {
  return t.defined() ? t.detach().to(torch::kCPU, torch::kFloat).clone() : at::Tensor();
}

template <size_t D, typename ConvImpl>
Layer conv_layer(const ConvImpl& c, const std::string& name) {
  Layer l;
  l.dims = static_cast<int>(D);
  read_conv_options<D>(c.options, name, l);
  l.weight = clone_cpu(c.weight);
  l.bias = clone_cpu(c.bias);
  l.source = name;
  return l;
}

// One leaf module appended to the list: a layer of its own, or folded into the previous one
// (BatchNorm, ReLU, dropout). A module without an int8 form is a usage error.
void append_module(std::vector<Layer>& layers, const std::string& name, torch::nn::Module& m) {
  if (auto* c = m.as<torch::nn::Conv2dImpl>()) {
    layers.push_back(conv_layer<2>(*c, name));
  } else if (auto* c3 = m.as<torch::nn::Conv3dImpl>()) {
    layers.push_back(conv_layer<3>(*c3, name));
  } else if (auto* b = m.as<models::BatchNormImpl>()) {
    Layer& p = previous(layers, name, "BatchNorm");
    MN_CHECK_USAGE(p.op == Layer::Op::Conv && !p.bn_weight.defined() && !p.relu, "BatchNorm ", name,
                   " does not directly follow a convolution (cannot be folded)");
    p.bn_weight = clone_cpu(b->weight);
    p.bn_bias = clone_cpu(b->bias);
    p.bn_mean = clone_cpu(b->running_mean);
    p.bn_var = clone_cpu(b->running_var);
    p.bn_eps = b->options.eps();
    p.source += "+" + name;
  } else if (m.as<torch::nn::ReLUImpl>()) {
    Layer& p = previous(layers, name, "ReLU");
    MN_CHECK_USAGE(has_weights(p.op) && !p.relu, "ReLU ", name,
                   " does not follow a convolution or linear layer");
    p.relu = true;
    p.source += "+" + name;
  } else if (auto* d = m.as<torch::nn::DropoutImpl>()) {
    Layer& p = previous(layers, name, "Dropout");
    p.dropout = d->options.p();
    p.source += "+" + name;
  } else if (auto* p2 = m.as<torch::nn::MaxPool2dImpl>()) {
    layers.push_back(pool_layer<2>(p2->options, name));
  } else if (auto* p3 = m.as<torch::nn::MaxPool3dImpl>()) {
    layers.push_back(pool_layer<3>(p3->options, name));
  } else if (m.as<torch::nn::AdaptiveAvgPool2dImpl>() || m.as<torch::nn::AdaptiveAvgPool3dImpl>()) {
    Layer l;
    l.op = Layer::Op::AvgPool;
    l.dims = m.as<torch::nn::AdaptiveAvgPool2dImpl>() ? 2 : 3;
    l.source = name;
    layers.push_back(l);
  } else if (m.as<torch::nn::FlattenImpl>()) {
    Layer l;
    l.op = Layer::Op::Flatten;
    l.source = name;
    layers.push_back(l);
  } else if (auto* lin = m.as<torch::nn::LinearImpl>()) {
    Layer l;
    l.op = Layer::Op::Linear;
    l.weight = clone_cpu(lin->weight);
    l.bias = clone_cpu(lin->bias);
    l.source = name;
    layers.push_back(l);
  } else {
    MN_CHECK_USAGE(false, "layer ", name, " (", m.name(), ") has no int8 conversion");
  }
}

// The sequential cnn: its leaf modules in registration order are its computing order.
std::vector<Layer> extract_sequential(models::ClassifierImpl& model) {
  std::vector<Layer> layers;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (!item.value()->children().empty()) continue;  // a container
    append_module(layers, item.key(), *item.value());
  }
  return layers;
}

torch::nn::Module& module_named(const ModuleMap& modules, const std::string& name) {
  const auto it = modules.find(name);
  MN_CHECK(it != modules.end(), "int8 conversion: the ResNet has no module ", name);
  return *it->second;
}

// A ResNet (or its plain twin) block by block, as ResNetImpl and ResBlockImpl compute: stem conv+BN+ReLU
// [+ max-pool], then per block its convolutions (ReLU after all but the last), the shortcut's 1x1
// convolution+BN where the shape changes, the add and its ReLU (plain: the last convolution's ReLU),
// then global average pooling, flatten [+ dropout] and fc.
std::vector<Layer> extract_resnet(models::ResNetImpl& net) {
  const models::ResNetOptions& o = net.options();
  const int d = o.spatial_dims();
  ModuleMap modules;
  for (const auto& item : net.named_modules("", /*include_self=*/false)) modules[item.key()] = item.value();
  std::vector<Layer> layers;
  auto conv_bn = [&](const std::string& conv, const std::string& bn, bool relu) {
    append_module(layers, conv, module_named(modules, conv));
    append_module(layers, bn, module_named(modules, bn));
    layers.back().relu = relu;
  };
  conv_bn("conv1", "bn1", true);
  if (!o.small_stem()) {
    Layer pool;
    pool.op = Layer::Op::MaxPool;
    pool.dims = d;
    pool.kernel = 3;
    pool.stride = 2;
    pool.padding = 1;
    pool.source = "maxpool";
    layers.push_back(pool);
  }
  const int convs = o.block() == models::BlockKind::Basic ? 2 : 3;
  for (size_t s = 0; s < o.layers().size(); ++s) {
    for (int64_t b = 0; b < o.layers()[s]; ++b) {
      const std::string block = "layer" + std::to_string(s + 1) + "." + std::to_string(b) + ".";
      const int block_input = static_cast<int>(layers.size()) - 1;
      for (int c = 1; c <= convs; ++c) {
        conv_bn(block + "conv" + std::to_string(c), block + "bn" + std::to_string(c), c < convs || !o.skip());
        if (c == 1) layers.back().input = block_input;
      }
      if (!o.skip()) continue;
      const int main = static_cast<int>(layers.size()) - 1;
      int shortcut = block_input;
      if (modules.count(block + "downsample")) {
        conv_bn(block + "downsample.0", block + "downsample.1", false);
        layers.back().input = block_input;
        shortcut = static_cast<int>(layers.size()) - 1;
      }
      Layer add;
      add.op = Layer::Op::Add;
      add.dims = d;
      add.input = main;
      add.residual = shortcut;
      add.relu = true;
      add.source = block + "add+relu";
      layers.push_back(add);
    }
  }
  Layer pool;
  pool.op = Layer::Op::AvgPool;
  pool.dims = d;
  pool.source = "avgpool";
  layers.push_back(pool);
  Layer flat;
  flat.op = Layer::Op::Flatten;
  flat.source = "flatten";
  flat.dropout = o.dropout();
  layers.push_back(flat);
  append_module(layers, "fc", module_named(modules, "fc"));
  return layers;
}

// VGG16: its input preparation (grayscale to 3 channels, resize, normalisation) as a float Prepare layer,
// the 13 convolutions with their ReLUs and the 5 max-pools, the global average (pool and flatten), the
// dense head.
std::vector<Layer> extract_vgg(models::VggImpl& net) {
  std::vector<Layer> layers;
  Layer prepare;
  prepare.op = Layer::Op::Prepare;
  prepare.resize = net.options().input_size();
  prepare.imagenet_norm = net.options().imagenet_norm();
  prepare.source = "prepare";
  layers.push_back(prepare);
  auto append_leaves = [&](const std::string& prefix) {
    for (const auto& item : net.named_modules("", /*include_self=*/false))
      if (item.key().rfind(prefix, 0) == 0 && item.value()->children().empty())
        append_module(layers, item.key(), *item.value());
  };
  append_leaves("features.");
  Layer pool;
  pool.op = Layer::Op::AvgPool;
  pool.source = "mean";
  layers.push_back(pool);
  Layer flat;
  flat.op = Layer::Op::Flatten;
  flat.source = "flatten";
  layers.push_back(flat);
  append_leaves("head.");
  return layers;
}

}  // namespace

std::vector<Layer> extract_layers(models::ClassifierImpl& model) {
  MN_CHECK_USAGE(model.kind().rfind("corn-", 0) != 0, "int8 conversion does not convert the CORN head of a ",
                 model.kind(), " (train with the softmax head to quantize)");
  std::vector<Layer> layers;
  if (model.kind() == "cnn") {
    layers = extract_sequential(model);
  } else if (auto* resnet = dynamic_cast<models::ResNetImpl*>(&model)) {
    layers = extract_resnet(*resnet);
  } else if (auto* vgg = dynamic_cast<models::VggImpl*>(&model)) {
    layers = extract_vgg(*vgg);
  } else {
    MN_CHECK_USAGE(false, "int8 conversion supports the cnn, the ResNets, the plain networks and VGG16; a ",
                   model.kind(), " has no int8 form here");
  }
  MN_CHECK_USAGE(!layers.empty() && layers.back().op == Layer::Op::Linear && !layers.back().relu,
                 "the network does not end in a linear output layer");
  return layers;
}

}  // namespace mednet::quant
