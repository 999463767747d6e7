#include "mednet/quant/layers.h"

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/models/vgg.h"
#include "mednet/quant/calibration.h"

namespace mednet::quant {

at::Tensor max_pool(const at::Tensor& x, int dims, int64_t k, int64_t s, int64_t p) {
  if (dims == 2) return at::max_pool2d(x, {k, k}, {s, s}, {p, p}, {1, 1}, false);
  return at::max_pool3d(x, {k, k, k}, {s, s, s}, {p, p, p}, {1, 1, 1}, false);
}

at::Tensor avg_pool(const at::Tensor& x, int dims) {
  if (dims == 2) return at::adaptive_avg_pool2d(x, {1, 1});
  return at::adaptive_avg_pool3d(x, {1, 1, 1});
}

bool has_weights(Layer::Op op) {
  return op == Layer::Op::Conv || op == Layer::Op::Linear;
}

bool has_own_range(Layer::Op op) {
  return has_weights(op) || op == Layer::Op::Add;
}

bool starts_with_prepare(const std::vector<Layer>& layers) {
  return !layers.empty() && layers.front().op == Layer::Op::Prepare;
}

int input_index(const Layer& l, size_t i) {
  return l.input >= 0 ? l.input : static_cast<int>(i) - 1;
}

int input_of(const std::vector<Layer>& layers, size_t i) {
  return input_index(layers[i], i);
}

at::Tensor run_layers(const std::vector<Layer>& layers, const at::Tensor& x, const LayerStep& step) {
  const size_t n = layers.size();
  // The last reader of each output (an output read by nobody after the next layer is dropped early).
  std::vector<size_t> last_use(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const Layer& l = layers[i];
    MN_CHECK(l.input < static_cast<int>(i) && l.input >= -1, "layer ", i, " (", l.source, ") reads layer ",
             l.input, ", which does not come before it");
    MN_CHECK(l.op == Layer::Op::Add ? l.residual >= 0 && l.residual < static_cast<int>(i) : l.residual == -1,
             "layer ", i, " (", l.source, ") has shortcut ", l.residual,
             l.op == Layer::Op::Add ? " (an add needs an earlier layer)" : " but is not an add");
    MN_CHECK(l.op != Layer::Op::Prepare || i == 0, "layer ", i, " (", l.source,
             ") prepares the input but is not the first layer");
    const int in = input_of(layers, i);
    if (in >= 0) last_use[static_cast<size_t>(in)] = std::max(last_use[static_cast<size_t>(in)], i);
    if (l.residual >= 0)
      last_use[static_cast<size_t>(l.residual)] = std::max(last_use[static_cast<size_t>(l.residual)], i);
  }
  std::vector<at::Tensor> out(n);
  at::Tensor last = x;
  for (size_t i = 0; i < n; ++i) {
    const int in = input_of(layers, i);
    const at::Tensor& input = in < 0 ? x : out[static_cast<size_t>(in)];
    const int r = layers[i].residual;
    last = step(i, input, r >= 0 ? out[static_cast<size_t>(r)] : at::Tensor());
    out[i] = last;
    for (size_t j = 0; j < i; ++j)
      if (out[j].defined() && last_use[j] <= i) out[j] = at::Tensor();
  }
  return last;
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
    case Layer::Op::Add:
      return "add";
    case Layer::Op::Prepare:
      return "prepare";
  }
  return "?";
}

Layer::Op parse_op(const std::string& name) {
  for (auto o : {Layer::Op::Conv, Layer::Op::MaxPool, Layer::Op::AvgPool, Layer::Op::Flatten,
                 Layer::Op::Linear, Layer::Op::Add, Layer::Op::Prepare})
    if (op_name(o) == name) return o;
  MN_CHECK(false, "unknown layer kind '", name, "' in an int8 model file");
  return Layer::Op::Conv;
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

at::Tensor conv_nd(const Layer& l, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  return l.dims == 2 ? at::conv2d(x, weight, bias, l.stride, l.padding)
                     : at::conv3d(x, weight, bias, l.stride, l.padding);
}

at::Tensor apply_float(const Layer& l, const at::Tensor& x, const at::Tensor& residual) {
  at::Tensor h;
  switch (l.op) {
    case Layer::Op::Conv:
      h = conv_nd(l, x, l.weight, l.bias);
      if (l.bn_weight.defined())
        h = at::batch_norm(h, l.bn_weight, l.bn_bias, l.bn_mean, l.bn_var, false, 0.0, l.bn_eps, false);
      break;
    case Layer::Op::MaxPool:
      return max_pool(x, l.dims, l.kernel, l.stride, l.padding);
    case Layer::Op::AvgPool:
      return avg_pool(x, l.dims);
    case Layer::Op::Flatten:
      return x.flatten(1);
    case Layer::Op::Prepare:
      return models::prepare_vgg_input(x, l.resize, l.imagenet_norm);
    case Layer::Op::Linear:
      h = at::linear(x, l.weight, l.bias);
      break;
    case Layer::Op::Add:
      MN_CHECK(residual.defined() && residual.sizes() == x.sizes(), "add ", l.source, ": the shortcut ",
               residual.defined() ? residual.sizes() : at::IntArrayRef{}, " does not match the input ",
               x.sizes());
      h = x + residual;
      break;
  }
  return l.relu ? at::relu(h) : h;
}

at::Tensor run_float(const std::vector<Layer>& layers, const at::Tensor& x) {
  return run_layers(layers, x, [&](size_t i, const at::Tensor& in, const at::Tensor& residual) {
    return apply_float(layers[i], in, residual);
  });
}

}  // namespace mednet::quant
