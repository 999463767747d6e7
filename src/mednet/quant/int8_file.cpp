#include "mednet/quant/int8_file.h"

#include <cmath>
#include <map>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/models/safetensors.h"
#include "mednet/quant/calibration.h"

namespace mednet::quant {

namespace {
constexpr const char* kFormat = "mednet-int8";
// Version 2 adds each layer's input and shortcut (ResNets); a version-1 file is a chain of layers.
constexpr int kFormatVersion = 2;

// Activation parameters as uint8 quantization has them: a finite positive scale, a zero point in 0..255.
void check_qparams(const QParams& q, const std::string& where) {
  // LibTorch's quantized kernels take scales as float32: a double beyond float's range becomes inf or 0.
  const float scale = static_cast<float>(q.scale);
  MN_CHECK(std::isfinite(scale) && scale > 0, where, " has scale ", q.scale,
           " (must be finite and > 0 in float32)");
  MN_CHECK(q.zero_point >= 0 && q.zero_point <= 255, where, " has zero point ", q.zero_point,
           " (must be in 0..255)");
}

// A layer's geometry, and its weights against it: what the file says is checked before anything runs.
void check_layer(const Layer& l, size_t i, const std::string& path) {
  const std::string where = path + ": layer " + std::to_string(i);
  MN_CHECK(l.dims == 2 || l.dims == 3, where, " has ", l.dims, " dimensions (2 or 3)");
  MN_CHECK(l.kernel >= 1 && l.kernel <= 64, where, " has kernel ", l.kernel, " (must be 1..64)");
  MN_CHECK(l.stride >= 1 && l.stride <= 64, where, " has stride ", l.stride, " (must be 1..64)");
  MN_CHECK(l.padding >= 0 && l.padding < l.kernel, where, " has padding ", l.padding,
           " (must be 0..kernel-1)");
  MN_CHECK(l.op != Layer::Op::MaxPool || 2 * l.padding <= l.kernel, where, ": a max-pool's padding ",
           l.padding, " is more than half its kernel ", l.kernel);
  const int n = static_cast<int>(i);
  MN_CHECK(l.op != Layer::Op::Prepare || (n == 0 && (l.resize == 0 || (l.resize >= 8 && l.resize <= 1024))),
           where, ": an input preparation must come first and resize to 0 (keep) or 8..1024 pixels");
  MN_CHECK(l.input >= -1 && l.input < n, where, " reads layer ", l.input,
           " (must be -1 or an earlier layer)");
  MN_CHECK(l.op == Layer::Op::Add ? l.residual >= 0 && l.residual < n : l.residual == -1, where,
           " has shortcut ", l.residual,
           l.op == Layer::Op::Add ? " (must be an earlier layer)" : " but is not an add");
}

void check_weights(const Layer& l, size_t i, const std::string& path, const at::Tensor& w,
                   const at::Tensor& scale, const at::Tensor& bias) {
  const std::string where = path + ": layer " + std::to_string(i);
  MN_CHECK(w.scalar_type() == at::kChar, where, ": weight is ", w.scalar_type(), ", not int8");
  const int64_t want_dim = l.op == Layer::Op::Conv ? l.dims + 2 : 2;
  MN_CHECK(w.dim() == want_dim && w.size(0) >= 1, where, ": weight has shape ", w.sizes(), " (", want_dim,
           " dimensions expected)");
  if (l.op == Layer::Op::Conv)
    for (int64_t d = 2; d < w.dim(); ++d)
      MN_CHECK(w.size(d) == l.kernel, where, ": weight shape ", w.sizes(), " disagrees with kernel ",
               l.kernel);
  MN_CHECK(scale.dim() == 1 && scale.numel() == w.size(0) && bias.dim() == 1 && bias.numel() == w.size(0),
           where, ": weight_scale ", scale.sizes(), " and bias ", bias.sizes(),
           " must have one value per output (", w.size(0), ")");
  MN_CHECK(w.numel() == 0 || w.abs().max().item<int>() <= kWeightQuantMax, where,
           ": weights outside the int8 range the conversion writes (-", kWeightQuantMax, "..",
           kWeightQuantMax, ")");
  // As float32, which the kernels use: 6e228 is finite as a double and inf there (it ended the process
  // from inside LibTorch's linear_prepack, found by make fuzz).
  const at::Tensor s = scale.to(torch::kDouble).to(torch::kFloat);
  MN_CHECK(torch::isfinite(s).all().item<bool>() && (s > 0).all().item<bool>(), where,
           ": a weight scale is not finite and > 0 in float32");
  MN_CHECK(torch::isfinite(bias.to(torch::kDouble)).all().item<bool>(), where, ": a bias is not finite");
}
}  // namespace

void write_int8_file(const std::string& path, const Int8Net& net, const nlohmann::json& info) {
  const Int8Parts& parts = net.parts();
  models::StateDict tensors;
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < parts.layers.size(); ++i) {
    const auto& q = parts.layers[i];
    const Layer& l = q.spec;
    nlohmann::json j = {
        {"op", op_name(l.op)}, {"source", l.source},       {"dims", l.dims},
        {"kernel", l.kernel},  {"stride", l.stride},       {"padding", l.padding},
        {"relu", l.relu},      {"out_scale", q.out.scale}, {"out_zero_point", q.out.zero_point},
        {"input", l.input},    {"residual", l.residual}};
    if (l.op == Layer::Op::Prepare) {
      j["resize"] = l.resize;
      j["imagenet_norm"] = l.imagenet_norm;
    }
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
      {"mode", mode_name(parts.mode)},
      {"input", {{"scale", parts.input.scale}, {"zero_point", parts.input.zero_point}}},
      {"layers", layers},
      {"info", info}};
  models::write_safetensors(path, tensors, {{"mednet", meta.dump()}});
}

Int8Net read_int8_file(const std::string& path, nlohmann::json* info) {
  const models::TensorFile file = models::read_safetensors_file(path);
  const auto it = file.metadata.find("mednet");
  MN_CHECK(it != file.metadata.end(), path, " is not a mednet int8 model (no 'mednet' metadata)");
  std::map<std::string, at::Tensor> tensors(file.tensors.begin(), file.tensors.end());
  Int8Parts parts;
  try {
    const auto meta = core::parse_json(it->second, path + " (its mednet metadata)", /*damaged=*/true);
    const int version =
        meta.at("format") == kFormat ? core::whole_number<int>(meta.at("version"), "version") : 0;
    MN_CHECK(version >= 1 && version <= kFormatVersion, path, " is not a version-1 to ", kFormatVersion,
             " mednet int8 model");
    parts.mode = parse_mode(meta.at("mode").get<std::string>());
    parts.input = {meta.at("input").at("scale").get<double>(),
                   core::whole_number<int64_t>(meta.at("input").at("zero_point"), "zero_point")};
    check_qparams(parts.input, path + ": the input");
    const auto& layers = meta.at("layers");
    for (size_t i = 0; i < layers.size(); ++i) {
      const auto& j = layers[i];
      Int8Layer q;
      q.spec.op = parse_op(j.at("op").get<std::string>());
      q.spec.source = j.at("source").get<std::string>();
      q.spec.dims = core::whole_number<int>(j.at("dims"), "dims");
      q.spec.kernel = core::whole_number<int64_t>(j.at("kernel"), "kernel");
      q.spec.stride = core::whole_number<int64_t>(j.at("stride"), "stride");
      q.spec.padding = core::whole_number<int64_t>(j.at("padding"), "padding");
      q.spec.relu = j.at("relu").get<bool>();
      if (version >= 2) {
        q.spec.input = core::whole_number<int>(j.at("input"), "input");
        q.spec.residual = core::whole_number<int>(j.at("residual"), "residual");
      }
      if (q.spec.op == Layer::Op::Prepare) {
        q.spec.resize = core::whole_number<int64_t>(j.at("resize"), "resize");
        q.spec.imagenet_norm = j.at("imagenet_norm").get<bool>();
      }
      q.out = {j.at("out_scale").get<double>(),
               core::whole_number<int64_t>(j.at("out_zero_point"), "out_zero_point")};
      check_layer(q.spec, i, path);
      check_qparams(q.out, path + ": layer " + std::to_string(i) + "'s output");
      if (has_weights(q.spec.op)) {
        const std::string key = "layers." + std::to_string(i) + ".";
        for (const char* part : {"weight", "weight_scale", "bias"})
          MN_CHECK(tensors.count(key + part), path, " lacks tensor '", key, part, "'");
        const at::Tensor w = tensors.at(key + "weight"), s = tensors.at(key + "weight_scale");
        check_weights(q.spec, i, path, w, s, tensors.at(key + "bias"));
        q.qweight = at::_make_per_channel_quantized_tensor(w, s.to(torch::kDouble),
                                                           torch::zeros({w.size(0)}, torch::kLong), 0);
        q.bias = tensors.at(key + "bias").to(torch::kFloat);
      }
      parts.layers.push_back(std::move(q));
    }
    if (info) *info = meta.value("info", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    MN_CHECK(false, path, ": unreadable int8 model description: ", e.what());
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find(path) != std::string::npos) throw;
    MN_CHECK(false, path, ": unreadable int8 model description: ", what);
  }
  return Int8Net(std::move(parts));
}

}  // namespace mednet::quant
