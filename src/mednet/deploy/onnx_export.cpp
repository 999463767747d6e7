#include "mednet/deploy/onnx_export.h"

#include <filesystem>
#include <functional>
#include <variant>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/deploy/architecture.h"
#include "mednet/models/batch_norm.h"
#include "mednet/models/cnn.h"
#include "mednet/models/ordinal_head.h"
#include "mednet/models/resnet.h"
#include "mednet/models/vgg.h"

namespace mednet::deploy {

namespace {

template <typename Array>
std::vector<int64_t> to_vec(const Array& a) {
  return std::vector<int64_t>(a->begin(), a->end());
}

/// Padding of a convolution's options (a variant of sizes, "valid" and "same"; c10::variant in
/// LibTorch 1.13, std::variant in 2.x: both found through `get`).
template <size_t D, typename Padding>
std::vector<int64_t> conv_padding(const Padding& p, const std::string& name) {
  using std::get_if;
  const auto* sizes = get_if<torch::ExpandingArray<D>>(&p);
  MN_CHECK(sizes, "ONNX export: convolution ", name,
           " uses 'same' or 'valid' padding, which is not exported");
  return to_vec(*sizes);
}

/// True when an adaptive pooling's output size is 1 in every dimension (global pooling).
template <typename Array>
bool pools_to_one(const Array& a) {
  for (const auto& v : *a)
    if (!v.has_value() || *v != 1) return false;
  return true;
}

std::vector<int64_t> both_sides(const std::vector<int64_t>& pad) {
  std::vector<int64_t> out = pad;
  out.insert(out.end(), pad.begin(), pad.end());
  return out;
}

/// Walks LibTorch modules and appends the matching ONNX nodes. Each emit returns the output's name.
class Emitter {
 public:
  explicit Emitter(OnnxGraph& g) : g_(g) {}

  std::string param(const std::string& name, const at::Tensor& t) {
    return g_.initializer(name, t.to(at::kFloat));
  }

  template <size_t D, typename Conv>
  std::string conv(const std::string& name, Conv& c, const std::string& x) {
    const auto& o = c.options;
    std::vector<std::string> in{x, param(name + ".weight", c.weight)};
    if (o.bias()) in.push_back(param(name + ".bias", c.bias));
    return g_.node("Conv", in,
                   {attr("kernel_shape", to_vec(o.kernel_size())), attr("strides", to_vec(o.stride())),
                    attr("pads", both_sides(conv_padding<D>(o.padding(), name))),
                    attr("dilations", to_vec(o.dilation())), attr("group", o.groups())});
  }

  template <typename Bn>
  std::string batch_norm(const std::string& name, Bn& b, const std::string& x) {
    return g_.node(
        "BatchNormalization",
        {x, param(name + ".weight", b.weight), param(name + ".bias", b.bias),
         param(name + ".running_mean", b.running_mean), param(name + ".running_var", b.running_var)},
        {attr_float("epsilon", static_cast<float>(b.options.eps()))});
  }

  template <typename Pool>
  std::string max_pool(Pool& p, const std::string& x) {
    const auto& o = p.options;
    return g_.node("MaxPool", {x},
                   {attr("kernel_shape", to_vec(o.kernel_size())), attr("strides", to_vec(o.stride())),
                    attr("pads", both_sides(to_vec(o.padding()))), attr("dilations", to_vec(o.dilation())),
                    attr("ceil_mode", o.ceil_mode() ? 1 : 0)});
  }

  std::string relu(const std::string& x) { return g_.node("Relu", {x}); }
  std::string add(const std::string& a, const std::string& b) { return g_.node("Add", {a, b}); }
  /// Global average pooling as ReduceMean over the spatial axes (OpenCV's runtime fails on a 3D
  /// GlobalAveragePool); keep_dims false gives [N, C].
  std::string global_pool(int spatial_dims, const std::string& x, bool keep_dims) {
    std::vector<int64_t> axes;
    for (int i = 0; i < spatial_dims; ++i) axes.push_back(2 + i);
    return g_.node("ReduceMean", {x}, {attr("axes", axes), attr("keepdims", keep_dims ? 1 : 0)});
  }

  /// One layer of a Sequential, by its LibTorch type.
  std::string layer(const std::string& name, torch::nn::Module& m, const std::string& x) {
    if (auto* c = m.as<torch::nn::Conv2d>()) return conv<2>(name, *c, x);
    if (auto* c = m.as<torch::nn::Conv3d>()) return conv<3>(name, *c, x);
    if (auto* b = m.as<models::BatchNormImpl>()) return batch_norm(name, *b, x);
    if (m.as<torch::nn::ReLU>()) return relu(x);
    if (auto* p = m.as<torch::nn::MaxPool2d>()) return max_pool(*p, x);
    if (auto* p = m.as<torch::nn::MaxPool3d>()) return max_pool(*p, x);
    if (auto* p = m.as<torch::nn::AdaptiveAvgPool2d>()) {
      MN_CHECK(pools_to_one(p->options.output_size()), "ONNX export: ", name,
               " pools to more than one value");
      return global_pool(2, x, true);
    }
    if (auto* p = m.as<torch::nn::AdaptiveAvgPool3d>()) {
      MN_CHECK(pools_to_one(p->options.output_size()), "ONNX export: ", name,
               " pools to more than one value");
      return global_pool(3, x, true);
    }
    if (auto* f = m.as<torch::nn::Flatten>()) {
      MN_CHECK(f->options.start_dim() == 1 && f->options.end_dim() == -1, "ONNX export: ", name,
               " flattens other dimensions than 1..end");
      return g_.node("Flatten", {x}, {attr("axis", 1)});
    }
    if (auto* l = m.as<torch::nn::Linear>()) {
      std::vector<std::string> in{x, param(name + ".weight", l->weight)};
      if (l->options.bias()) in.push_back(param(name + ".bias", l->bias));
      return g_.node("Gemm", in, {attr("transB", 1)});
    }
    if (m.as<torch::nn::Dropout>()) return x;  // evaluation mode
    MN_CHECK(false, "ONNX export: layer ", name, " (", m.name(), ") has no ONNX counterpart here");
    return x;
  }

  std::string sequential(const std::string& name, torch::nn::Module& seq, const std::string& x) {
    std::string h = x;
    for (const auto& child : seq.named_children()) h = layer(name + "." + child.key(), *child.value(), h);
    return h;
  }

  OnnxGraph& graph() { return g_; }

 private:
  OnnxGraph& g_;
};

std::shared_ptr<torch::nn::Module> child(torch::nn::Module& m, const std::string& name) {
  for (const auto& c : m.named_children())
    if (c.key() == name) return c.value();
  MN_CHECK(false, "ONNX export: the network has no module '", name, "'");
  return nullptr;
}

std::string cnn(Emitter& e, models::CnnImpl& m, const std::string& x) {
  return e.sequential("head", *child(m, "head"), e.sequential("features", *child(m, "features"), x));
}

std::string res_block(Emitter& e, const std::string& name, torch::nn::Module& block, bool skip,
                      const std::string& x) {
  // conv1/bn1, conv2/bn2[, conv3/bn3]: ReLU between them; the shortcut is added before the last ReLU.
  std::vector<std::string> convs;
  std::shared_ptr<torch::nn::Module> downsample;
  for (const auto& c : block.named_children()) {
    if (c.key() == "downsample") downsample = c.value();
    if (c.key().rfind("conv", 0) == 0) convs.push_back(c.key().substr(4));
  }
  std::string h = x;
  for (size_t i = 0; i < convs.size(); ++i) {
    h = e.layer(name + ".conv" + convs[i], *child(block, "conv" + convs[i]), h);
    h = e.layer(name + ".bn" + convs[i], *child(block, "bn" + convs[i]), h);
    if (i + 1 < convs.size()) h = e.relu(h);
  }
  if (skip) h = e.add(h, downsample ? e.sequential(name + ".downsample", *downsample, x) : x);
  return e.relu(h);
}

std::string resnet(Emitter& e, models::ResNetImpl& m, const std::string& x) {
  std::string h = e.relu(e.layer("bn1", *child(m, "bn1"), e.layer("conv1", *child(m, "conv1"), x)));
  if (!m.options().small_stem()) {
    const int64_t d = m.options().spatial_dims();
    h = e.graph().node(
        "MaxPool", {h},
        {attr("kernel_shape", std::vector<int64_t>(d, 3)), attr("strides", std::vector<int64_t>(d, 2)),
         attr("pads", std::vector<int64_t>(2 * d, 1))});
  }
  for (size_t s = 0; s < m.options().layers().size(); ++s) {
    const std::string stage = "layer" + std::to_string(s + 1);
    for (const auto& b : child(m, stage)->named_children())
      h = res_block(e, stage + "." + b.key(), *b.value(), m.options().skip(), h);
  }
  return e.layer("fc", *child(m, "fc"), e.global_pool(m.options().spatial_dims(), h, false));
}

std::string vgg(Emitter& e, models::VggImpl& m, const std::string& x, int size) {
  const auto& o = m.options();
  const std::string h =
      prepare_vgg_nodes(e.graph(), x, o.in_channels(), o.input_size(), o.imagenet_norm(), size);
  return e.sequential("head", *child(m, "head"),
                      e.global_pool(2, e.sequential("features", *child(m, "features"), h), false));
}

// CORN's conditional logits l [N, K - 1] to log class probabilities [N, K] (models/ordinal_head.h):
// log sigmoid(l) = -Softplus(-l); the exclusive running sum is log P(> k - 1), the inclusive one's last
// column log P(> K - 2).
std::string corn(OnnxGraph& g, const std::string& l, int64_t tasks) {
  const std::string log_s = g.node("Neg", {g.node("Softplus", {g.node("Neg", {l})})});
  const std::string log_not_s = g.node("Neg", {g.node("Softplus", {l})});
  const std::string axis = g.initializer("corn_axis", torch::tensor(int64_t{1}));
  const std::string reach = g.node("CumSum", {log_s, axis}, {attr("exclusive", 1)});
  const std::string above = g.node("CumSum", {log_s, axis});
  const std::string last = g.node("Slice", {above, g.initializer("corn_start", torch::tensor({tasks - 1})),
                                            g.initializer("corn_end", torch::tensor({tasks})),
                                            g.initializer("corn_axes", torch::tensor({int64_t{1}}))});
  return g.node("Concat", {g.node("Add", {reach, log_not_s}), last}, {attr("axis", 1)});
}

}  // namespace

std::string prepare_vgg_nodes(OnnxGraph& g, const std::string& x, int64_t in_channels, int64_t input_size,
                              bool imagenet_norm, int size) {
  std::string h = x;
  if (in_channels == 1) h = g.node("Concat", {h, h, h}, {attr("axis", 1)});
  const int64_t s = input_size;
  if (s > 0 && s != size) {
    // Bilinear, align_corners false: ONNX's half_pixel rule.
    const std::string sizes = g.initializer("resize.sizes", torch::tensor({int64_t{1}, int64_t{3}, s, s}));
    h = g.node("Resize", {h, "", "", sizes},
               {attr_string("mode", "linear"), attr_string("coordinate_transformation_mode", "half_pixel")});
  }
  if (imagenet_norm) {
    // ((x + 1) / 2 - mean) / std = x * (0.5 / std) + (0.5 - mean) / std, as a per-channel affine map
    // (BatchNormalization with mean 0, variance 1, epsilon 0: OpenCV's runtime rejects an Add of a
    // [1, 3, 1, 1] constant).
    const at::Tensor mean = torch::tensor({0.485f, 0.456f, 0.406f});
    const at::Tensor std = torch::tensor({0.229f, 0.224f, 0.225f});
    h = g.node(
        "BatchNormalization",
        {h, g.initializer("imagenet.scale", 0.5f / std), g.initializer("imagenet.shift", (0.5f - mean) / std),
         g.initializer("imagenet.mean", torch::zeros({3})), g.initializer("imagenet.var", torch::ones({3}))},
        {attr_float("epsilon", 0.0f)});
  }
  return h;
}

OnnxGraph onnx_graph(models::ClassifierImpl& model, int64_t in_channels, int size) {
  OnnxGraph g("mednet_" + model.kind());
  Emitter e(g);
  auto* corn_head = dynamic_cast<models::CornImpl*>(&model);
  models::ClassifierImpl& net = corn_head ? *corn_head->net() : model;
  int dims = 2;
  if (auto* c = dynamic_cast<models::CnnImpl*>(&net)) dims = c->options().spatial_dims();
  if (auto* r = dynamic_cast<models::ResNetImpl*>(&net)) dims = r->options().spatial_dims();
  std::vector<int64_t> shape{-1, in_channels};
  for (int i = 0; i < dims; ++i) shape.push_back(size);
  const std::string x = g.input("input", shape);
  std::string logits;
  if (auto* c = dynamic_cast<models::CnnImpl*>(&net)) {
    logits = cnn(e, *c, x);
  } else if (auto* r = dynamic_cast<models::ResNetImpl*>(&net)) {
    logits = resnet(e, *r, x);
  } else if (auto* v = dynamic_cast<models::VggImpl*>(&net)) {
    logits = vgg(e, *v, x, size);
  } else {
    MN_CHECK(false, "ONNX export does not know the network '", model.kind(), "'");
  }
  if (corn_head) logits = corn(g, logits, architecture(net).at("classes").get<int64_t>());
  g.node("Identity", {logits}, {}, "logits");
  g.output("logits", {-1, static_cast<int64_t>(architecture(model).at("classes").get<int64_t>())});
  return g;
}

ExportResult export_onnx(models::ClassifierImpl& model, const ExportSource& source, const std::string& out) {
  MN_CHECK(onnx_available(), out,
           ": this mednet was built without ONNX support (libonnx-dev was not found "
           "when it was configured; install it and rebuild)");
  const OnnxGraph g = onnx_graph(model, source.info->channels, source.size);
  const std::map<std::string, std::string> meta = export_metadata(model, source);
  g.save(out, kOnnxOpset, meta);
  ExportResult r;
  r.path = out;
  r.bytes = static_cast<int64_t>(std::filesystem::file_size(out));
  r.tensors = g.initializers().size();
  r.notes.push_back("ONNX opset " + std::to_string(kOnnxOpset) + ", " + std::to_string(g.nodes().size()) +
                    " nodes; input \"input\" " + meta.at("mednet.input") + "; output \"logits\"");
  return r;
}

}  // namespace mednet::deploy
