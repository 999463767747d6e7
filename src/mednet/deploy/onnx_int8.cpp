#include "mednet/deploy/onnx_int8.h"

#include <filesystem>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/deploy/onnx_export.h"
#include "mednet/models/registry.h"
#include "mednet/quant/int8_file.h"
#include "mednet/run/config.h"
#include "mednet/run/run_files.h"

namespace mednet::deploy {

namespace {

using quant::Layer;

class QdqEmitter {
 public:
  explicit QdqEmitter(OnnxGraph& g) : g_(g) {}

  // x rounded to the uint8 grid of q and back to float.
  std::string qdq(const std::string& x, const quant::QParams& q) {
    const std::string id = std::to_string(count_++);
    const std::string s = g_.initializer("q" + id + ".scale", torch::tensor(static_cast<float>(q.scale)));
    const std::string z =
        g_.initializer("q" + id + ".zero_point", torch::tensor(static_cast<uint8_t>(q.zero_point)));
    return g_.node("DequantizeLinear", {g_.node("QuantizeLinear", {x, s, z}), s, z});
  }

  // The int8 weight behind a per-output-channel DequantizeLinear.
  std::string weight(const std::string& name, const at::Tensor& qweight) {
    const at::Tensor scales = qweight.q_per_channel_scales().to(torch::kFloat);
    return g_.node(
        "DequantizeLinear",
        {g_.initializer(name + ".weight_int8", qweight.int_repr()),
         g_.initializer(name + ".weight_scale", scales),
         g_.initializer(name + ".weight_zero_point", torch::zeros({scales.size(0)}, torch::kChar))},
        {attr("axis", 0)});
  }

  std::string layer(const quant::Int8Layer& ql, size_t i, const std::string& x, const std::string& residual) {
    const Layer& l = ql.spec;
    const std::string name = "layer" + std::to_string(i);
    const std::vector<int64_t> k(static_cast<size_t>(l.dims), l.kernel),
        s(static_cast<size_t>(l.dims), l.stride), p(2 * static_cast<size_t>(l.dims), l.padding);
    std::string h;
    switch (l.op) {
      case Layer::Op::Conv:
        h = g_.node("Conv", {x, weight(name, ql.qweight), g_.initializer(name + ".bias", ql.bias)},
                    {attr("kernel_shape", k), attr("strides", s), attr("pads", p)});
        break;
      case Layer::Op::Linear:
        h = g_.node("Gemm", {x, weight(name, ql.qweight), g_.initializer(name + ".bias", ql.bias)},
                    {attr("transB", 1)});
        break;
      case Layer::Op::Add:
        h = g_.node("Add", {x, residual});
        break;
      case Layer::Op::MaxPool:  // the maximum of values on one grid is on it
        return g_.node("MaxPool", {x}, {attr("kernel_shape", k), attr("strides", s), attr("pads", p)});
      case Layer::Op::AvgPool: {
        // ReduceMean, as the float export (OpenCV's runtime fails on a 3D GlobalAveragePool); the int8
        // pool rounds the mean to its input's grid.
        std::vector<int64_t> axes;
        for (int d = 0; d < l.dims; ++d) axes.push_back(2 + d);
        return qdq(g_.node("ReduceMean", {x}, {attr("axes", axes), attr("keepdims", 1)}), ql.out);
      }
      case Layer::Op::Flatten:
        return g_.node("Flatten", {x}, {attr("axis", 1)});
      case Layer::Op::Prepare:
        MN_CHECK(false, "QDQ export: a Prepare layer is handled before the input quantize");
    }
    if (l.relu) h = g_.node("Relu", {h});
    return qdq(h, ql.out);
  }

 private:
  OnnxGraph& g_;
  int count_ = 0;
};

}  // namespace

OnnxGraph onnx_int8_graph(const quant::Int8Net& net, int64_t in_channels, int size, int dims,
                          int64_t classes) {
  const quant::Int8Parts& parts = net.parts();
  MN_CHECK_USAGE(
      parts.mode == quant::Mode::Static,
      "ONNX export of an int8 model needs a full-integer one (mednet quantize --mode static or qat); "
      "this one is dynamic-range, whose activation scales are computed per batch");
  OnnxGraph g("mednet_int8");
  QdqEmitter e(g);
  std::vector<int64_t> shape{-1, in_channels};
  for (int i = 0; i < dims; ++i) shape.push_back(size);
  std::string x = g.input("input", shape);
  size_t first = 0;
  if (!parts.layers.empty() && parts.layers[0].spec.op == Layer::Op::Prepare) {
    const Layer& p = parts.layers[0].spec;
    x = prepare_vgg_nodes(g, x, in_channels, p.resize, p.imagenet_norm, size);
    first = 1;
  }
  std::vector<std::string> out(parts.layers.size());
  if (first == 1) out[0] = e.qdq(x, parts.input);
  const std::string start = first == 1 ? out[0] : e.qdq(x, parts.input);
  for (size_t i = first; i < parts.layers.size(); ++i) {
    const Layer& l = parts.layers[i].spec;
    const int in = quant::input_index(l, i);
    const std::string& input = in < 0 ? start : out[static_cast<size_t>(in)];
    out[i] = e.layer(parts.layers[i], i, input, l.residual >= 0 ? out[static_cast<size_t>(l.residual)] : "");
  }
  g.node("Identity", {out.back()}, {}, "logits");
  g.output("logits", {-1, classes});
  return g;
}

ExportResult export_onnx_int8(const std::string& int8_dir, const std::string& out) {
  MN_CHECK(onnx_available(), out,
           ": this mednet was built without ONNX support (libonnx-dev was not found "
           "when it was configured; install it and rebuild)");
  const run::RunFiles files(int8_dir);
  nlohmann::json info;
  const quant::Int8Net net = quant::read_int8_file(files.int8_model(), &info);
  const run::TrainConfig config = run::load_config(files.config());
  ExportSource source;
  source.info = &data::find_dataset(config.dataset);
  source.size = config.size;
  source.run_dir = int8_dir;
  // The float network's description (architecture, labels, input) for the metadata; its weights are unused.
  const models::Classifier model =
      models::make_model(config.model, data::input_shape(*source.info, config.size));
  std::map<std::string, std::string> meta = export_metadata(*model, source);
  meta["mednet.int8"] = nlohmann::json{{"mode", quant::mode_name(net.mode())}, {"quantize", info}}.dump();
  const int64_t classes = source.info->num_outputs();
  const OnnxGraph g =
      onnx_int8_graph(net, source.info->channels, source.size, source.info->spatial_dims(), classes);
  g.save(out, kOnnxOpset, meta);
  ExportResult r;
  r.path = out;
  r.bytes = static_cast<int64_t>(std::filesystem::file_size(out));
  r.tensors = g.initializers().size();
  r.notes.push_back("ONNX opset " + std::to_string(kOnnxOpset) + ", QDQ form, " +
                    std::to_string(g.nodes().size()) +
                    " nodes; int8 weights with per-channel scales, uint8 activations; input \"input\" " +
                    meta.at("mednet.input") + "; output \"logits\"");
  return r;
}

}  // namespace mednet::deploy
