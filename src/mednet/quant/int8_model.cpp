#include "mednet/quant/int8_model.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "mednet/core/error.h"
#include "mednet/models/weights.h"

namespace mednet::quant {

namespace {

using Conv2dPacked = c10::intrusive_ptr<ConvPackedParamsBase<2>>;
using Conv3dPacked = c10::intrusive_ptr<ConvPackedParamsBase<3>>;
using LinearPacked = c10::intrusive_ptr<LinearPackedParamsBase>;

constexpr const char* kFormat = "mednet-int8";
constexpr int kFormatVersion = 1;

c10::OperatorHandle op(const char* name, const char* overload = "") {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, overload);
}

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

at::Tensor max_pool_float(const at::Tensor& x, int dims, int64_t k);

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

// A 3D max-pool of a quantized tensor. LibTorch has no quantized max_pool3d, so the pool is split:
// the (H, W) windows by the quantized max_pool2d, with depth slices folded into the batch (a
// channels-last 3D tensor is a channels-last 2D one of N*D images, no copy), then the depth windows
// on the stored uint8 values (the affine map is increasing, so the maximum of stored values is the
// stored value of the maximum; scale and zero point stay those of the input).
at::Tensor max_pool3d_quantized(const at::Tensor& q, int64_t k) {
  const int64_t n = q.size(0), c = q.size(1), d = q.size(2), h = q.size(3), w = q.size(4);
  const at::Tensor cl = q.contiguous(at::MemoryFormat::ChannelsLast3d);
  const at::Tensor planes = cl.permute({0, 2, 1, 3, 4}).reshape({n * d, c, h, w});
  const at::Tensor pooled = max_pool_float(planes, 2, k);  // quantized (H, W) pool
  const int64_t h2 = pooled.size(2), w2 = pooled.size(3), d2 = d / k;
  // [N, D, C, H2, W2] stored values; maximum over each run of k depth slices.
  const at::Tensor u = pooled.int_repr().reshape({n, d, c, h2, w2});
  at::Tensor m = u.slice(1, 0, d2 * k, k);
  for (int64_t i = 1; i < k; ++i) m = at::maximum(m, u.slice(1, i, d2 * k, k));
  const at::Tensor out = m.permute({0, 2, 1, 3, 4}).contiguous(at::MemoryFormat::ChannelsLast3d);
  return at::_make_per_tensor_quantized_tensor(out, q.q_scale(), q.q_zero_point());
}

// Float to quint8 with vectorised float operations (LibTorch 1.13's quantize_per_tensor takes a
// scalar path without fbgemm); rounding is half-to-even, as quantize_per_tensor's.
at::Tensor quantize_input(const at::Tensor& x, const QParams& p) {
  const at::Tensor u = (x * static_cast<float>(1.0 / p.scale))
                           .round_()
                           .add_(static_cast<double>(p.zero_point))
                           .clamp_(0, static_cast<double>(kActivationQuantMax))
                           .to(at::kByte);
  return at::_make_per_tensor_quantized_tensor(u, p.scale, p.zero_point);
}

at::Tensor max_pool_float(const at::Tensor& x, int dims, int64_t k) {
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

}  // namespace

Mode parse_mode(const std::string& name) {
  if (name == "dynamic") return Mode::Dynamic;
  if (name == "static") return Mode::Static;
  if (name == "qat") return Mode::Qat;
  MN_CHECK_USAGE(false, "unknown quantization mode '", name, "' (valid: dynamic, static, qat)");
  return Mode::Static;
}

std::string mode_name(Mode mode) {
  switch (mode) {
    case Mode::Dynamic:
      return "dynamic";
    case Mode::Static:
      return "static";
    case Mode::Qat:
      return "qat";
  }
  return "?";
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

namespace {
Layer::Op parse_op(const std::string& name) {
  for (auto o :
       {Layer::Op::Conv, Layer::Op::MaxPool, Layer::Op::AvgPool, Layer::Op::Flatten, Layer::Op::Linear})
    if (op_name(o) == name) return o;
  MN_CHECK(false, "unknown layer kind '", name, "' in an int8 model file");
  return Layer::Op::Conv;
}
}  // namespace

std::vector<Layer> extract_layers(models::ClassifierImpl& model) {
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
    } else if (m->as<torch::nn::BatchNorm2dImpl>() || m->as<torch::nn::BatchNorm3dImpl>()) {
      Layer& p = previous(layers, name, "BatchNorm");
      MN_CHECK_USAGE(p.op == Layer::Op::Conv && !p.bn_weight.defined() && !p.relu, "BatchNorm ", name,
                     " does not directly follow a convolution (cannot be folded)");
      auto* b2 = m->as<torch::nn::BatchNorm2dImpl>();
      auto* b3 = m->as<torch::nn::BatchNorm3dImpl>();
      const at::Tensor gamma = b2 ? b2->weight : b3->weight, beta = b2 ? b2->bias : b3->bias;
      p.bn_weight = gamma.defined() ? clone_cpu(gamma) : torch::ones({p.weight.size(0)});
      p.bn_bias = beta.defined() ? clone_cpu(beta) : torch::zeros({p.weight.size(0)});
      p.bn_mean = clone_cpu(b2 ? b2->running_mean : b3->running_mean);
      p.bn_var = clone_cpu(b2 ? b2->running_var : b3->running_var);
      p.bn_eps = b2 ? b2->options.eps() : b3->options.eps();
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
      return max_pool_float(x, l.dims, l.kernel);
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

Calibration calibrate(const std::vector<Layer>& folded, const at::Tensor& images, const std::string& observer,
                      int batch_size) {
  MN_CHECK_USAGE(images.defined() && images.size(0) > 0,
                 "calibration needs at least one sample (--calib must be 1 or more)");
  torch::NoGradGuard no_grad;
  Observer in(observer);
  std::vector<Observer> outs(folded.size(), Observer(observer));
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    at::Tensor h = images.narrow(0, start, std::min<int64_t>(batch_size, images.size(0) - start));
    in.observe(h);
    for (size_t i = 0; i < folded.size(); ++i) {
      h = apply_float(folded[i], h);
      if (has_weights(folded[i].op)) outs[i].observe(h);
    }
  }
  Calibration c;
  c.observer = observer;
  c.samples = images.size(0);
  c.input = in.qparams(kActivationQuantMax);
  QParams current = c.input;
  for (size_t i = 0; i < folded.size(); ++i) {
    if (has_weights(folded[i].op)) current = outs[i].qparams(kActivationQuantMax);
    c.outputs.push_back(current);
  }
  return c;
}

std::string quantized_engine() {
  static std::once_flag once;
  static std::string name;
  std::call_once(once, [] {
    const auto engines = at::globalContext().supportedQEngines();
    auto has = [&](at::QEngine e) { return std::find(engines.begin(), engines.end(), e) != engines.end(); };
    std::vector<std::pair<at::QEngine, std::string>> order = {{at::QEngine::ONEDNN, "onednn"}};
#if TORCH_VERSION_MAJOR >= 2
    order.emplace_back(at::QEngine::X86, "x86");
#endif
    order.emplace_back(at::QEngine::FBGEMM, "fbgemm");
    order.emplace_back(at::QEngine::QNNPACK, "qnnpack");
    for (const auto& [e, n] : order) {
      if (has(e)) {
        at::globalContext().setQEngine(e);
        name = n;
        return;
      }
    }
  });
  MN_CHECK(!name.empty(), "this LibTorch build has no quantized engine (onednn, x86, fbgemm or qnnpack)");
  return name;
}

struct Int8Net::Impl {
  struct QLayer {
    Layer spec;          // weight and bias unset
    at::Tensor qweight;  // per-channel qint8
    at::Tensor bias;     // float
    at::Tensor wfloat;   // dynamic convolution: the int8 weight as float
    QParams out;
    Conv2dPacked conv2;
    Conv3dPacked conv3;
    LinearPacked linear;
  };
  Mode mode = Mode::Static;
  QParams input;
  std::vector<QLayer> layers;
  bool reduce_range = true;  // dynamic linear layers: 7-bit activations (see kActivationQuantMax)

  void pack() {
    quantized_engine();
    for (auto& q : layers) {
      const Layer& l = q.spec;
      if (l.op == Layer::Op::Conv) {
        if (mode == Mode::Dynamic) {
          q.wfloat = q.qweight.dequantize();
          continue;
        }
        const int64_t s = l.stride, p = l.padding;
        if (l.dims == 2) {
          q.conv2 = op("quantized::conv2d_prepack")
                        .typed<Conv2dPacked(at::Tensor, c10::optional<at::Tensor>, torch::List<int64_t>,
                                            torch::List<int64_t>, torch::List<int64_t>, int64_t)>()
                        .call(q.qweight, q.bias, {s, s}, {p, p}, {1, 1}, 1);
        } else {
          q.conv3 = op("quantized::conv3d_prepack")
                        .typed<Conv3dPacked(at::Tensor, c10::optional<at::Tensor>, torch::List<int64_t>,
                                            torch::List<int64_t>, torch::List<int64_t>, int64_t)>()
                        .call(q.qweight, q.bias, {s, s, s}, {p, p, p}, {1, 1, 1}, 1);
        }
      } else if (l.op == Layer::Op::Linear) {
        q.linear = op("quantized::linear_prepack")
                       .typed<LinearPacked(at::Tensor, c10::optional<at::Tensor>)>()
                       .call(q.qweight, q.bias);
      }
    }
  }

  // times (optional) receives the milliseconds of the input quantize, each layer and the dequantize.
  at::Tensor forward_static(const at::Tensor& x, std::vector<double>* times = nullptr) const {
    auto t0 = std::chrono::steady_clock::now();
    auto lap = [&] {
      if (!times) return;
      const auto t1 = std::chrono::steady_clock::now();
      times->push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      t0 = t1;
    };
    at::Tensor q = quantize_input(x.contiguous(), input);
    lap();
    for (const auto& ql : layers) {
      lap();
      const Layer& l = ql.spec;
      switch (l.op) {
        case Layer::Op::Conv:
          if (l.dims == 2) {
            static const auto conv =
                op("quantized::conv2d", "new")
                    .typed<at::Tensor(at::Tensor, const Conv2dPacked&, double, int64_t)>();
            static const auto conv_relu =
                op("quantized::conv2d_relu", "new")
                    .typed<at::Tensor(at::Tensor, const Conv2dPacked&, double, int64_t)>();
            q = (l.relu ? conv_relu : conv).call(q, ql.conv2, ql.out.scale, ql.out.zero_point);
          } else {
            static const auto conv =
                op("quantized::conv3d", "new")
                    .typed<at::Tensor(at::Tensor, const Conv3dPacked&, double, int64_t)>();
            static const auto conv_relu =
                op("quantized::conv3d_relu", "new")
                    .typed<at::Tensor(at::Tensor, const Conv3dPacked&, double, int64_t)>();
            q = (l.relu ? conv_relu : conv).call(q, ql.conv3, ql.out.scale, ql.out.zero_point);
          }
          break;
        case Layer::Op::MaxPool:
          q = l.dims == 2 ? max_pool_float(q, 2, l.kernel) : max_pool3d_quantized(q, l.kernel);
          break;
        case Layer::Op::AvgPool:
          q = avg_pool(q, l.dims);
          break;
        case Layer::Op::Flatten:
          q = q.contiguous().flatten(1);
          break;
        case Layer::Op::Linear: {
          static const auto linear =
              op("quantized::linear").typed<at::Tensor(at::Tensor, const LinearPacked&, double, int64_t)>();
          static const auto linear_relu =
              op("quantized::linear_relu")
                  .typed<at::Tensor(at::Tensor, const LinearPacked&, double, int64_t)>();
          q = (l.relu ? linear_relu : linear).call(q, ql.linear, ql.out.scale, ql.out.zero_point);
          break;
        }
      }
    }
    lap();
    at::Tensor y = q.dequantize();
    lap();
    return y;
  }

  at::Tensor forward_dynamic(const at::Tensor& x) const {
    at::Tensor h = x;
    for (const auto& ql : layers) {
      const Layer& l = ql.spec;
      if (l.op == Layer::Op::Conv) {
        // The input rounded to uint8 with this batch's own range, times the int8 weights.
        const QParams p = uint8_qparams(h.min().item<double>(), h.max().item<double>(), kActivationQuantMax);
        const at::Tensor hq =
            at::fake_quantize_per_tensor_affine(h, p.scale, p.zero_point, 0, kActivationQuantMax);
        h = l.dims == 2 ? at::conv2d(hq, ql.wfloat, ql.bias, l.stride, l.padding)
                        : at::conv3d(hq, ql.wfloat, ql.bias, l.stride, l.padding);
        if (l.relu) h = at::relu(h);
      } else if (l.op == Layer::Op::Linear) {
        static const auto linear =
            op("quantized::linear_dynamic").typed<at::Tensor(at::Tensor, const LinearPacked&, bool)>();
        static const auto linear_relu =
            op("quantized::linear_relu_dynamic").typed<at::Tensor(at::Tensor, const LinearPacked&, bool)>();
        h = (l.relu ? linear_relu : linear).call(h.contiguous(), ql.linear, reduce_range);
      } else {
        h = apply_float(l, h);
      }
    }
    return h;
  }
};

Int8Net::Int8Net(const std::vector<Layer>& folded, Mode mode, const Calibration* calibration)
    : impl_(std::make_shared<Impl>()) {
  MN_CHECK(mode != Mode::Qat, "Int8Net: a quantization-aware model is converted as a static one");
  MN_CHECK(mode == Mode::Dynamic || (calibration && calibration->outputs.size() == folded.size()),
           "Int8Net: full-integer conversion needs a calibration of every layer");
  impl_->mode = mode;
  if (calibration) impl_->input = calibration->input;
  for (size_t i = 0; i < folded.size(); ++i) {
    const Layer& l = folded[i];
    MN_CHECK(!l.bn_weight.defined(), "Int8Net: layer ", l.source, " still has a BatchNorm (fold first)");
    Impl::QLayer q;
    q.spec = l;
    q.spec.weight = q.spec.bias = at::Tensor();
    if (has_weights(l.op)) {
      q.qweight = quantize_weight_per_channel(l.weight, kWeightQuantMax);
      q.bias = l.bias.defined() ? l.bias.to(torch::kFloat).contiguous() : torch::zeros({l.weight.size(0)});
    }
    if (calibration) q.out = calibration->outputs[i];
    impl_->layers.push_back(std::move(q));
  }
  impl_->pack();
}

at::Tensor Int8Net::forward(const at::Tensor& x) const {
  torch::NoGradGuard no_grad;
  return impl_->mode == Mode::Dynamic ? impl_->forward_dynamic(x) : impl_->forward_static(x);
}

std::vector<std::pair<std::string, double>> Int8Net::profile(const at::Tensor& x) const {
  MN_CHECK(impl_->mode == Mode::Static, "profile: only the full-integer model is timed layer by layer");
  torch::NoGradGuard no_grad;
  std::vector<double> t;
  impl_->forward_static(x, &t);
  // t: quantize, then (a lap before each layer: 0-length except the previous layer's), ...
  std::vector<std::pair<std::string, double>> out;
  out.emplace_back("input quantize", t[0]);
  for (size_t i = 0; i < impl_->layers.size(); ++i) out.emplace_back(impl_->layers[i].spec.source, t[i + 2]);
  out.emplace_back("output dequantize", t.back());
  return out;
}

Mode Int8Net::mode() const {
  return impl_->mode;
}

std::vector<KernelInfo> Int8Net::kernels() const {
  std::vector<KernelInfo> out;
  const bool dyn = impl_->mode == Mode::Dynamic;
  if (!dyn) out.push_back({"input", "quantize_per_tensor (float -> quint8)", true});
  for (const auto& q : impl_->layers) {
    const Layer& l = q.spec;
    const std::string d = std::to_string(l.dims) + "d";
    KernelInfo k{l.source, "", true};
    switch (l.op) {
      case Layer::Op::Conv:
        if (dyn) {
          k.kernel = "float conv" + d +
                     " on int8 weights and a per-batch uint8 rounding of its input (LibTorch's "
                     "quantized::conv" +
                     d + "_dynamic is not used: it returned wrong values in a check)";
          k.int8 = false;
        } else {
          k.kernel = "quantized::conv" + d + (l.relu ? "_relu" : "") + ".new";
        }
        break;
      case Layer::Op::MaxPool:
        if (dyn) {
          k.kernel = "max_pool" + d + " (float)";
          k.int8 = false;
        } else {
          k.kernel = l.dims == 2 ? "max_pool2d on quint8" : "uint8 window maximum (no quantized max_pool3d)";
        }
        break;
      case Layer::Op::AvgPool:
        k.kernel = "adaptive_avg_pool" + d + (dyn ? " (float)" : " on quint8");
        k.int8 = !dyn;
        break;
      case Layer::Op::Flatten:
        k.kernel = dyn ? "flatten (float)" : "flatten (quint8)";
        k.int8 = !dyn;
        break;
      case Layer::Op::Linear:
        k.kernel = dyn ? (l.relu ? "quantized::linear_relu_dynamic" : "quantized::linear_dynamic")
                       : (l.relu ? "quantized::linear_relu" : "quantized::linear");
        break;
    }
    out.push_back(k);
  }
  if (!dyn) out.push_back({"output", "dequantize (quint8 -> float)", true});
  return out;
}

void Int8Net::save(const std::string& path, const nlohmann::json& info) const {
  models::StateDict tensors;
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < impl_->layers.size(); ++i) {
    const auto& q = impl_->layers[i];
    const Layer& l = q.spec;
    nlohmann::json j = {
        {"op", op_name(l.op)}, {"source", l.source},       {"dims", l.dims},
        {"kernel", l.kernel},  {"stride", l.stride},       {"padding", l.padding},
        {"relu", l.relu},      {"out_scale", q.out.scale}, {"out_zero_point", q.out.zero_point}};
    layers.push_back(j);
    if (has_weights(l.op)) {
      const std::string key = "layers." + std::to_string(i) + ".";
      tensors.emplace_back(key + "weight", q.qweight.int_repr());
      tensors.emplace_back(key + "weight_scale", q.qweight.q_per_channel_scales().to(torch::kDouble));
      tensors.emplace_back(key + "bias", q.bias);
    }
  }
  const nlohmann::json meta = {
      {"format", kFormat},
      {"version", kFormatVersion},
      {"mode", mode_name(impl_->mode)},
      {"input", {{"scale", impl_->input.scale}, {"zero_point", impl_->input.zero_point}}},
      {"layers", layers},
      {"info", info}};
  models::write_safetensors(path, tensors, {{"mednet", meta.dump()}});
}

Int8Net Int8Net::load(const std::string& path, nlohmann::json* info) {
  const models::TensorFile file = models::read_safetensors_file(path);
  const auto it = file.metadata.find("mednet");
  MN_CHECK(it != file.metadata.end(), path, " is not a mednet int8 model (no 'mednet' metadata)");
  std::map<std::string, at::Tensor> tensors(file.tensors.begin(), file.tensors.end());
  Int8Net net;
  net.impl_ = std::make_shared<Impl>();
  try {
    const auto meta = nlohmann::json::parse(it->second);
    MN_CHECK(meta.at("format") == kFormat && meta.at("version").get<int>() == kFormatVersion, path,
             " is not a version-", kFormatVersion, " mednet int8 model");
    net.impl_->mode = parse_mode(meta.at("mode").get<std::string>());
    net.impl_->input = {meta.at("input").at("scale").get<double>(),
                        meta.at("input").at("zero_point").get<int64_t>()};
    const auto& layers = meta.at("layers");
    for (size_t i = 0; i < layers.size(); ++i) {
      const auto& j = layers[i];
      Impl::QLayer q;
      q.spec.op = parse_op(j.at("op").get<std::string>());
      q.spec.source = j.at("source").get<std::string>();
      q.spec.dims = j.at("dims").get<int>();
      q.spec.kernel = j.at("kernel").get<int64_t>();
      q.spec.stride = j.at("stride").get<int64_t>();
      q.spec.padding = j.at("padding").get<int64_t>();
      q.spec.relu = j.at("relu").get<bool>();
      q.out = {j.at("out_scale").get<double>(), j.at("out_zero_point").get<int64_t>()};
      MN_CHECK(q.spec.dims == 2 || q.spec.dims == 3, path, ": layer ", i, " has ", q.spec.dims,
               " dimensions");
      if (has_weights(q.spec.op)) {
        const std::string key = "layers." + std::to_string(i) + ".";
        for (const char* part : {"weight", "weight_scale", "bias"})
          MN_CHECK(tensors.count(key + part), path, " lacks tensor '", key, part, "'");
        const at::Tensor w = tensors.at(key + "weight"), s = tensors.at(key + "weight_scale");
        MN_CHECK(w.scalar_type() == at::kChar && s.numel() == w.size(0) &&
                     tensors.at(key + "bias").numel() == w.size(0),
                 path, ": tensors of layer ", i, " have the wrong dtype or size");
        q.qweight = at::_make_per_channel_quantized_tensor(w, s.to(torch::kDouble),
                                                           torch::zeros({w.size(0)}, torch::kLong), 0);
        q.bias = tensors.at(key + "bias").to(torch::kFloat);
      }
      net.impl_->layers.push_back(std::move(q));
    }
    if (info) *info = meta.value("info", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    MN_CHECK(false, path, ": unreadable int8 model description: ", e.what());
  }
  net.impl_->pack();
  return net;
}

}  // namespace mednet::quant
