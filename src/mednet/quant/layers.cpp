#include "mednet/quant/layers.h"

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/models/batch_norm.h"
#include "mednet/quant/calibration.h"

namespace mednet::quant {

namespace {

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
void read_pool_options(const Options& o, const std::string& name, Layer& layer) {
  const auto k = o.kernel_size(), s = o.stride(), p = o.padding(), d = o.dilation();
  for (size_t i = 0; i < D; ++i) {
    MN_CHECK_USAGE(k->at(i) == k->at(0) && s->at(i) == k->at(0) && p->at(i) == 0 && d->at(i) == 1,
                   "max-pool ", name, " is not a plain k x k pool with stride k");
  }
  MN_CHECK_USAGE(!o.ceil_mode(), "max-pool ", name, " uses ceil_mode");
  layer.kernel = k->at(0);
  layer.stride = k->at(0);
}

Layer& previous(std::vector<Layer>& layers, const std::string& name, const char* what) {
  MN_CHECK_USAGE(!layers.empty(), what, " ", name, " comes before any convolution or linear layer");
  return layers.back();
}

at::Tensor clone_cpu(const at::Tensor& t) {
  return t.defined() ? t.detach().to(torch::kCPU, torch::kFloat).clone() : at::Tensor();
}

// A convolution (Conv2dImpl or Conv3dImpl) as a layer.
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

template <size_t D, typename Options>
Layer pool_layer(const Options& o, const std::string& name) {
  Layer l;
  l.op = Layer::Op::MaxPool;
  l.dims = static_cast<int>(D);
  read_pool_options<D>(o, name, l);
  l.source = name;
  return l;
}

}  // namespace

at::Tensor max_pool(const at::Tensor& x, int dims, int64_t k) {
  if (dims == 2) return at::max_pool2d(x, {k, k}, {k, k}, {0, 0}, {1, 1}, false);
  return at::max_pool3d(x, {k, k, k}, {k, k, k}, {0, 0, 0}, {1, 1, 1}, false);
}

at::Tensor avg_pool(const at::Tensor& x, int dims) {
  if (dims == 2) return at::adaptive_avg_pool2d(x, {1, 1});
  return at::adaptive_avg_pool3d(x, {1, 1, 1});
}

bool has_weights(Layer::Op op) {
  return op == Layer::Op::Conv || op == Layer::Op::Linear;
}

std::string op_name(Layer::Op o) {
  switch (o) {
    case Layer::Op::Conv:
      return "conv";
    case Layer::Op::MaxPool:
      return "maxpool";
    case Layer::Op::AvgPool:
      return "avgpool";
    case Layer::Op::Flatten:
      return "flatten";
    case Layer::Op::Linear:
      return "linear";
  }
  return "?";
}

Layer::Op parse_op(const std::string& name) {
  for (auto o :
       {Layer::Op::Conv, Layer::Op::MaxPool, Layer::Op::AvgPool, Layer::Op::Flatten, Layer::Op::Linear})
    if (op_name(o) == name) return o;
  MN_CHECK(false, "unknown layer kind '", name, "' in an int8 model file");
  return Layer::Op::Conv;
}

std::vector<Layer> extract_layers(models::ClassifierImpl& model) {
  MN_CHECK_USAGE(model.kind().rfind("corn-", 0) != 0, "int8 conversion does not convert the CORN head of a ",
                 model.kind(), " (train with the softmax head to quantize)");
  MN_CHECK_USAGE(model.kind() == "cnn", "int8 conversion supports the plain cnn (2D and 3D); a ",
                 model.kind(), " has skip connections or input resizing that are not converted");
  std::vector<Layer> layers;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    const std::string& name = item.key();
    const auto& m = item.value();
    if (!m->children().empty()) continue;  // a container
    if (auto* c = m->as<torch::nn::Conv2dImpl>()) {
      layers.push_back(conv_layer<2>(*c, name));
    } else if (auto* c3 = m->as<torch::nn::Conv3dImpl>()) {
      layers.push_back(conv_layer<3>(*c3, name));
    } else if (auto* b = m->as<models::BatchNormImpl>()) {
      Layer& p = previous(layers, name, "BatchNorm");
      MN_CHECK_USAGE(p.op == Layer::Op::Conv && !p.bn_weight.defined() && !p.relu, "BatchNorm ", name,
                     " does not directly follow a convolution (cannot be folded)");
      p.bn_weight = clone_cpu(b->weight);
      p.bn_bias = clone_cpu(b->bias);
      p.bn_mean = clone_cpu(b->running_mean);
      p.bn_var = clone_cpu(b->running_var);
      p.bn_eps = b->options.eps();
      p.source += "+" + name;
    } else if (m->as<torch::nn::ReLUImpl>()) {
      Layer& p = previous(layers, name, "ReLU");
      MN_CHECK_USAGE(has_weights(p.op) && !p.relu, "ReLU ", name,
                     " does not follow a convolution or linear layer");
      p.relu = true;
      p.source += "+" + name;
    } else if (auto* d = m->as<torch::nn::DropoutImpl>()) {
      Layer& p = previous(layers, name, "Dropout");
      p.dropout = d->options.p();
      p.source += "+" + name;
    } else if (auto* p2 = m->as<torch::nn::MaxPool2dImpl>()) {
      layers.push_back(pool_layer<2>(p2->options, name));
    } else if (auto* p3 = m->as<torch::nn::MaxPool3dImpl>()) {
      layers.push_back(pool_layer<3>(p3->options, name));
    } else if (m->as<torch::nn::AdaptiveAvgPool2dImpl>() || m->as<torch::nn::AdaptiveAvgPool3dImpl>()) {
      Layer l;
      l.op = Layer::Op::AvgPool;
      l.dims = m->as<torch::nn::AdaptiveAvgPool2dImpl>() ? 2 : 3;
      l.source = name;
      layers.push_back(l);
    } else if (m->as<torch::nn::FlattenImpl>()) {
      Layer l;
      l.op = Layer::Op::Flatten;
      l.source = name;
      layers.push_back(l);
    } else if (auto* lin = m->as<torch::nn::LinearImpl>()) {
      Layer l;
      l.op = Layer::Op::Linear;
      l.weight = clone_cpu(lin->weight);
      l.bias = clone_cpu(lin->bias);
      l.source = name;
      layers.push_back(l);
    } else {
      MN_CHECK_USAGE(false, "layer ", name, " (", m->name(), ") has no int8 conversion");
    }
  }
  MN_CHECK_USAGE(!layers.empty() && layers.back().op == Layer::Op::Linear && !layers.back().relu,
                 "the network does not end in a linear output layer");
  return layers;
}

std::vector<Layer> fold_layers(const std::vector<Layer>& layers) {
  std::vector<Layer> out = layers;
  for (auto& l : out) {
    if (l.op == Layer::Op::Conv) {
      if (l.bn_weight.defined()) {
        torch::NoGradGuard no_grad;
        auto [w, b] =
            fold_batch_norm(l.weight, l.bias, l.bn_mean, l.bn_var, l.bn_weight, l.bn_bias, l.bn_eps);
        l.weight = w.detach().clone();
        l.bias = b.detach().clone();
        l.bn_weight = l.bn_bias = l.bn_mean = l.bn_var = at::Tensor();
      } else if (!l.bias.defined()) {
        l.bias = torch::zeros({l.weight.size(0)});
      }
    }
  }
  return out;
}

at::Tensor apply_float(const Layer& l, const at::Tensor& x) {
  at::Tensor h;
  switch (l.op) {
    case Layer::Op::Conv:
      h = l.dims == 2 ? at::conv2d(x, l.weight, l.bias, l.stride, l.padding)
                      : at::conv3d(x, l.weight, l.bias, l.stride, l.padding);
      if (l.bn_weight.defined())
        h = at::batch_norm(h, l.bn_weight, l.bn_bias, l.bn_mean, l.bn_var, false, 0.0, l.bn_eps, false);
      break;
    case Layer::Op::MaxPool:
      return max_pool(x, l.dims, l.kernel);
    case Layer::Op::AvgPool:
      return avg_pool(x, l.dims);
    case Layer::Op::Flatten:
      return x.flatten(1);
    case Layer::Op::Linear:
      h = at::linear(x, l.weight, l.bias);
      break;
  }
  return l.relu ? at::relu(h) : h;
}

at::Tensor run_float(const std::vector<Layer>& layers, const at::Tensor& x) {
  at::Tensor h = x;
  for (const auto& l : layers) h = apply_float(l, h);
  return h;
}

}  // namespace mednet::quant
