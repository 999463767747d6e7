#include "mednet/quant/int8_file.h"

#include <map>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/models/safetensors.h"

namespace mednet::quant {

namespace {
constexpr const char* kFormat = "mednet-int8";
constexpr int kFormatVersion = 1;
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
    const auto meta = nlohmann::json::parse(it->second);
    MN_CHECK(meta.at("format") == kFormat && meta.at("version").get<int>() == kFormatVersion, path,
             " is not a version-", kFormatVersion, " mednet int8 model");
    parts.mode = parse_mode(meta.at("mode").get<std::string>());
    parts.input = {meta.at("input").at("scale").get<double>(),
                   meta.at("input").at("zero_point").get<int64_t>()};
    const auto& layers = meta.at("layers");
    for (size_t i = 0; i < layers.size(); ++i) {
      const auto& j = layers[i];
      Int8Layer q;
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
      parts.layers.push_back(std::move(q));
    }
    if (info) *info = meta.value("info", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    MN_CHECK(false, path, ": unreadable int8 model description: ", e.what());
  }
  return Int8Net(std::move(parts));
}

}  // namespace mednet::quant
