#include "mednet/quant/int8_net.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "mednet/core/error.h"

namespace mednet::quant {

namespace {

using Conv2dPacked = c10::intrusive_ptr<ConvPackedParamsBase<2>>;
using Conv3dPacked = c10::intrusive_ptr<ConvPackedParamsBase<3>>;
using LinearPacked = c10::intrusive_ptr<LinearPackedParamsBase>;

c10::OperatorHandle op(const char* name, const char* overload = "") {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, overload);
}

// A 3D max-pool of a quantized tensor. LibTorch has no quantized max_pool3d, so the pool is split:
// the (H, W) windows by the quantized max_pool2d, with depth slices folded into the batch (a
// channels-last 3D tensor is a channels-last 2D one of N*D images, no copy), then the depth windows
// on the stored uint8 values (the affine map is increasing, so the maximum of stored values is the
// stored value of the maximum; scale and zero point stay those of the input). Depth padding is the
// stored value 0, which no real value is below.
at::Tensor max_pool3d_quantized(const at::Tensor& q, int64_t k, int64_t s, int64_t p) {
  const int64_t n = q.size(0), c = q.size(1), d = q.size(2), h = q.size(3), w = q.size(4);
  const at::Tensor cl = q.contiguous(at::MemoryFormat::ChannelsLast3d);
  const at::Tensor planes = cl.permute({0, 2, 1, 3, 4}).reshape({n * d, c, h, w});
  const at::Tensor pooled = max_pool(planes, 2, k, s, p);  // quantized (H, W) pool
  const int64_t h2 = pooled.size(2), w2 = pooled.size(3), d2 = (d + 2 * p - k) / s + 1;
  // [N, D, C, H2, W2] stored values; maximum over each depth window.
  at::Tensor u = pooled.int_repr().reshape({n, d, c, h2, w2});
  if (p > 0) u = at::constant_pad_nd(u, {0, 0, 0, 0, 0, 0, p, p}, 0);
  const int64_t end = (d2 - 1) * s + 1;
  at::Tensor m = u.slice(1, 0, end, s);
  for (int64_t i = 1; i < k; ++i) m = at::maximum(m, u.slice(1, i, i + end, s));
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

void warn_float_fallback(const Layer& l, const std::string& what) {
  static std::once_flag once;
  std::call_once(once, [&] {
    std::fprintf(stderr, "mednet: int8 layer %s runs in float on its int8 values for this input (%s)\n",
                 l.source.c_str(), what.substr(0, what.find('\n')).c_str());
  });
}

}  // namespace

Mode parse_mode(const std::string& name) {
  if (name == "dynamic") return Mode::Dynamic;
  if (name == "static") return Mode::Static;
  MN_CHECK_USAGE(false, "unknown quantization mode '", name, "' (valid: dynamic, static)");
  return Mode::Static;
}

std::string mode_name(Mode mode) {
  switch (mode) {
    case Mode::Dynamic:
      return "dynamic";
    case Mode::Static:
      return "static";
  }
  return "?";
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
  struct Packed {
    at::Tensor wfloat;  // dynamic convolution: the int8 weight as float
    Conv2dPacked conv2;
    Conv3dPacked conv3;
    LinearPacked linear;
  };
  Int8Parts parts;
  std::vector<Layer> spec_;    // the layers' descriptions (run_layers' graph)
  std::vector<Packed> packed;  // one per layer
  bool reduce_range = true;    // dynamic linear layers: 7-bit activations (see kActivationQuantMax)

  void pack() {
    quantized_engine();
    spec_.clear();
    for (const auto& l : parts.layers) spec_.push_back(l.spec);
    packed.assign(parts.layers.size(), Packed());
    for (size_t i = 0; i < parts.layers.size(); ++i) {
      const Int8Layer& src = parts.layers[i];
      Packed& q = packed[i];
      const Layer& l = src.spec;
      if (l.op == Layer::Op::Conv) {
        q.wfloat = src.qweight.dequantize();  // dynamic: the kernel; static: the fallback's
        if (parts.mode == Mode::Dynamic) continue;
        const int64_t s = l.stride, p = l.padding;
        if (l.dims == 2) {
          q.conv2 = op("quantized::conv2d_prepack")
                        .typed<Conv2dPacked(at::Tensor, c10::optional<at::Tensor>, torch::List<int64_t>,
                                            torch::List<int64_t>, torch::List<int64_t>, int64_t)>()
                        .call(src.qweight, src.bias, {s, s}, {p, p}, {1, 1}, 1);
        } else {
          q.conv3 = op("quantized::conv3d_prepack")
                        .typed<Conv3dPacked(at::Tensor, c10::optional<at::Tensor>, torch::List<int64_t>,
                                            torch::List<int64_t>, torch::List<int64_t>, int64_t)>()
                        .call(src.qweight, src.bias, {s, s, s}, {p, p, p}, {1, 1, 1}, 1);
        }
      } else if (l.op == Layer::Op::Linear) {
        q.linear = op("quantized::linear_prepack")
                       .typed<LinearPacked(at::Tensor, c10::optional<at::Tensor>)>()
                       .call(src.qweight, src.bias);
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
    // A Prepare layer runs in float first; the input quantize follows it.
    const at::Tensor start = starts_with_prepare(spec_) ? x : quantize_input(x.contiguous(), parts.input);
    lap();
    const at::Tensor q =
        run_layers(spec_, start, [&](size_t i, const at::Tensor& in, const at::Tensor& residual) {
          at::Tensor y;
          try {
            y = static_step(i, in, residual);
          } catch (const Error&) {
            throw;
          } catch (const std::exception& e) {
            // Name the layer: LibTorch's quantized kernels (and onednn under them) say only what failed.
            const std::string what = e.what();
            MN_CHECK(false, "int8 layer ", i, " (", spec_[i].source, ") failed on input ", in.sizes(), ": ",
                     what.substr(0, what.find('\n')));
          }
          lap();
          return y;
        });
    at::Tensor y = q.dequantize();
    lap();
    return y;
  }

  static at::Tensor conv_step(const Int8Layer& ql, const Packed& pk, const at::Tensor& q) {
    const Layer& l = ql.spec;
    if (l.dims == 2) {
      static const auto conv = op("quantized::conv2d", "new")
                                   .typed<at::Tensor(at::Tensor, const Conv2dPacked&, double, int64_t)>();
      static const auto conv_relu =
          op("quantized::conv2d_relu", "new")
              .typed<at::Tensor(at::Tensor, const Conv2dPacked&, double, int64_t)>();
      return (l.relu ? conv_relu : conv).call(q, pk.conv2, ql.out.scale, ql.out.zero_point);
    } else {
      static const auto conv = op("quantized::conv3d", "new")
                                   .typed<at::Tensor(at::Tensor, const Conv3dPacked&, double, int64_t)>();
      static const auto conv_relu =
          op("quantized::conv3d_relu", "new")
              .typed<at::Tensor(at::Tensor, const Conv3dPacked&, double, int64_t)>();
      return (l.relu ? conv_relu : conv).call(q, pk.conv3, ql.out.scale, ql.out.zero_point);
    }
  }

  at::Tensor static_step(size_t i, const at::Tensor& q, const at::Tensor& residual) const {
    const Int8Layer& ql = parts.layers[i];
    const Packed& pk = packed[i];
    const Layer& l = ql.spec;
    check_input(ql, q, residual, i);
    switch (l.op) {
      case Layer::Op::Prepare:
        return quantize_input(apply_float(l, q).contiguous(), parts.input);
      case Layer::Op::Conv:
        try {
          return conv_step(ql, pk, q);
        } catch (const std::exception& e) {
          // onednn could not create some kernels for batch 1 (a 3D ResNet-18's layer4 shortcut on
          // [1, 256, 2, 2, 2]): the same arithmetic in float on the int8 values, requantized to the
          // layer's grid, said once on stderr.
          warn_float_fallback(l, e.what());
          at::Tensor y = conv_nd(l, q.dequantize(), pk.wfloat, ql.bias);
          if (l.relu) y = at::relu(y);
          return quantize_input(y, ql.out);
        }
      case Layer::Op::MaxPool:
        return l.dims == 2 ? max_pool(q, 2, l.kernel, l.stride, l.padding)
                           : max_pool3d_quantized(q, l.kernel, l.stride, l.padding);
      case Layer::Op::AvgPool:
        return avg_pool(q, l.dims);
      case Layer::Op::Flatten:
        return q.contiguous().flatten(1);
      case Layer::Op::Linear: {
        static const auto linear =
            op("quantized::linear").typed<at::Tensor(at::Tensor, const LinearPacked&, double, int64_t)>();
        static const auto linear_relu =
            op("quantized::linear_relu")
                .typed<at::Tensor(at::Tensor, const LinearPacked&, double, int64_t)>();
        return (l.relu ? linear_relu : linear).call(q, pk.linear, ql.out.scale, ql.out.zero_point);
      }
      case Layer::Op::Add: {
        // One requantisation: both operands' integers to the output grid, as PyTorch's quantized add.
        static const auto add =
            op("quantized::add").typed<at::Tensor(at::Tensor, at::Tensor, double, int64_t)>();
        static const auto add_relu =
            op("quantized::add_relu").typed<at::Tensor(at::Tensor, at::Tensor, double, int64_t)>();
        return (l.relu ? add_relu : add).call(q, residual, ql.out.scale, ql.out.zero_point);
      }
    }
    return q;
  }

  // What a layer with weights receives, checked before LibTorch's kernels see it: a mismatch (a file
  // whose padding or widths were changed, found by make fuzz) throws inside noexcept code there.
  static void check_input(const Int8Layer& ql, const at::Tensor& h, const at::Tensor& residual, size_t i) {
    const Layer& l = ql.spec;
    if (l.op == Layer::Op::Add) {
      MN_CHECK(residual.defined() && residual.sizes() == h.sizes(), "int8 layer ", i, " (", l.source,
               ") adds a shortcut of shape ", residual.defined() ? residual.sizes() : at::IntArrayRef{},
               " to ", h.sizes(), ": the model's layers do not fit together");
      return;
    }
    if (!has_weights(l.op)) return;
    const bool conv = l.op == Layer::Op::Conv;
    bool fits = h.dim() == (conv ? l.dims + 2 : 2) && h.size(1) == ql.qweight.size(1);
    for (int64_t d = 2; conv && fits && d < h.dim(); ++d) fits = h.size(d) + 2 * l.padding >= l.kernel;
    MN_CHECK(fits, "int8 layer ", i, " (", l.source, ") with weights ", ql.qweight.sizes(), " gets input ",
             h.sizes(), ": the model's layers do not fit together or the input is not the model's");
  }

  at::Tensor forward_dynamic(const at::Tensor& x) const {
    return run_layers(spec_, x, [&](size_t i, const at::Tensor& h, const at::Tensor& residual) {
      const Int8Layer& ql = parts.layers[i];
      const Packed& pk = packed[i];
      const Layer& l = ql.spec;
      check_input(ql, h, residual, i);
      if (l.op == Layer::Op::Conv) {
        // The input rounded to uint8 with this batch's own range, times the int8 weights.
        const QParams p = uint8_qparams(h.min().item<double>(), h.max().item<double>(), kActivationQuantMax);
        const at::Tensor hq =
            at::fake_quantize_per_tensor_affine(h, p.scale, p.zero_point, 0, kActivationQuantMax);
        at::Tensor y = conv_nd(l, hq, pk.wfloat, ql.bias);
        return l.relu ? at::relu(y) : y;
      }
      if (l.op == Layer::Op::Linear) {
        static const auto linear =
            op("quantized::linear_dynamic").typed<at::Tensor(at::Tensor, const LinearPacked&, bool)>();
        static const auto linear_relu =
            op("quantized::linear_relu_dynamic").typed<at::Tensor(at::Tensor, const LinearPacked&, bool)>();
        return (l.relu ? linear_relu : linear).call(h.contiguous(), pk.linear, reduce_range);
      }
      return apply_float(l, h, residual);
    });
  }
};

Int8Net::Int8Net(const std::vector<Layer>& folded, Mode mode, const Calibration* calibration)
    : impl_(std::make_shared<Impl>()) {
  MN_CHECK(mode == Mode::Dynamic || (calibration && calibration->outputs.size() == folded.size()),
           "Int8Net: full-integer conversion needs a calibration of every layer");
  impl_->parts.mode = mode;
  if (calibration) impl_->parts.input = calibration->input;
  for (size_t i = 0; i < folded.size(); ++i) {
    const Layer& l = folded[i];
    MN_CHECK(!l.bn_weight.defined(), "Int8Net: layer ", l.source, " still has a BatchNorm (fold first)");
    Int8Layer q;
    q.spec = l;
    q.spec.weight = q.spec.bias = at::Tensor();
    if (has_weights(l.op)) {
      q.qweight = quantize_weight_per_channel(l.weight, kWeightQuantMax);
      q.bias = l.bias.defined() ? l.bias.to(torch::kFloat).contiguous() : torch::zeros({l.weight.size(0)});
    }
    if (calibration) q.out = calibration->outputs[i];
    impl_->parts.layers.push_back(std::move(q));
  }
  impl_->pack();
}

Int8Net::Int8Net(Int8Parts parts) : impl_(std::make_shared<Impl>()) {
  for (const auto& l : parts.layers) {
    MN_CHECK(l.spec.dims == 2 || l.spec.dims == 3, "int8 layer ", l.spec.source, " has ", l.spec.dims,
             " dimensions");
    if (has_weights(l.spec.op))
      MN_CHECK(l.qweight.defined() && l.bias.defined(), "int8 layer ", l.spec.source, " has no weights");
  }
  impl_->parts = std::move(parts);
  impl_->pack();
}

const Int8Parts& Int8Net::parts() const {
  return impl_->parts;
}

at::Tensor Int8Net::forward(const at::Tensor& x) const {
  torch::NoGradGuard no_grad;
  return impl_->parts.mode == Mode::Dynamic ? impl_->forward_dynamic(x) : impl_->forward_static(x);
}

std::vector<std::pair<std::string, double>> Int8Net::profile(const at::Tensor& x) const {
  MN_CHECK(impl_->parts.mode == Mode::Static, "profile: only the full-integer model is timed layer by layer");
  torch::NoGradGuard no_grad;
  std::vector<double> t;
  impl_->forward_static(x, &t);
  // t: quantize, each layer, dequantize.
  std::vector<std::pair<std::string, double>> out;
  out.emplace_back("input quantize", t[0]);
  for (size_t i = 0; i < impl_->parts.layers.size(); ++i)
    out.emplace_back(impl_->parts.layers[i].spec.source, t[i + 1]);
  out.emplace_back("output dequantize", t.back());
  return out;
}

Mode Int8Net::mode() const {
  return impl_->parts.mode;
}

std::vector<KernelInfo> Int8Net::kernels() const {
  std::vector<KernelInfo> out;
  const bool dyn = impl_->parts.mode == Mode::Dynamic;
  for (const auto& q : impl_->parts.layers) {
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
          k.kernel = l.dims == 2 ? "max_pool2d on quint8"
                                 : "max_pool2d on quint8 + uint8 depth maximum (no quantized max_pool3d)";
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
      case Layer::Op::Prepare:
        k.kernel = "grayscale to 3 channels, bilinear resize to " + std::to_string(l.resize) +
                   (l.imagenet_norm ? ", ImageNet normalisation" : "") +
                   " (float, before the input quantize)";
        k.int8 = false;
        break;
      case Layer::Op::Add:
        k.kernel = dyn ? (l.relu ? "add + relu (float)" : "add (float)")
                       : (l.relu ? "quantized::add_relu (one requantisation)" : "quantized::add");
        k.int8 = !dyn;
        break;
    }
    out.push_back(k);
  }
  if (!dyn) {
    // After a Prepare layer (which computes in float), else first.
    const auto at = out.begin() + (starts_with_prepare(impl_->spec_) ? 1 : 0);
    out.insert(at, {"input", "quantize_per_tensor (float -> quint8)", true});
    out.push_back({"output", "dequantize (quint8 -> float)", true});
  }
  return out;
}

}  // namespace mednet::quant
