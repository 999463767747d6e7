#include "mednet/models/registry.h"

#include <regex>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"
#include "mednet/models/cnn.h"
#include "mednet/models/resnet.h"
#include "mednet/models/vgg.h"

namespace mednet::models {

namespace {
// "resnet18" -> (true, 18); "plain50" -> (false, 50); anything else -> depth 0.
std::pair<bool, int> residual_depth(const std::string& name) {
  static const std::regex re("(resnet|plain)(18|34|50|101|152)");
  std::smatch m;
  if (!std::regex_match(name, m, re)) return {false, 0};
  return {m[1] == "resnet", std::stoi(m[2])};
}
}  // namespace

std::vector<std::string> model_names() {
  return {"cnn",       "vgg16",   "resnet18", "resnet34", "resnet50", "resnet101",
          "resnet152", "plain18", "plain34",  "plain50",  "plain101", "plain152"};
}

void validate(const ModelSpec& spec) {
  const bool cnn = spec.name == "cnn";
  const bool vgg = spec.name == "vgg16";
  MN_CHECK_USAGE(cnn || vgg || residual_depth(spec.name).second > 0, "unknown model '", spec.name,
                 "'; valid models: ", core::join(model_names(), ", "));
  MN_CHECK_USAGE(spec.dropout < 1 && (spec.dropout >= 0 || spec.dropout == -1),
                 "model.dropout must be in [0, 1) (or -1 for the model's default), got ", spec.dropout);
  for (int64_t w : spec.widths) MN_CHECK_USAGE(w >= 1, "model.widths must be positive, got ", w);
  MN_CHECK_USAGE(spec.stem == "auto" || spec.stem == "small" || spec.stem == "standard",
                 "model.stem must be auto, small or standard, got '", spec.stem, "'");
  MN_CHECK_USAGE(spec.input_size == 0 || spec.input_size >= 32,
                 "model.input_size must be 0 (the model's default) or >= 32, got ", spec.input_size);
  if (vgg) {
    MN_CHECK_USAGE(spec.widths.empty(), "model.widths does not apply to vgg16 (its widths are fixed)");
  } else if (!cnn) {
    MN_CHECK_USAGE(spec.widths.empty() || spec.widths.size() == 4, "model.widths of ", spec.name,
                   " must have 4 entries (one per stage), got ", spec.widths.size());
  } else {
    MN_CHECK_USAGE(spec.convs_per_stage >= 1, "model.convs_per_stage must be >= 1");
  }
}

Classifier make_model(const ModelSpec& spec, const data::DatasetInfo& info, int size) {
  validate(spec);
  if (spec.name == "cnn") {
    CnnOptions o(info.num_outputs());
    o.in_channels(info.channels)
        .spatial_dims(info.spatial_dims())
        .input_size(size)
        .convs_per_stage(spec.convs_per_stage)
        .hidden(spec.hidden)
        .global_pool(spec.global_pool);
    if (!spec.widths.empty()) o.widths(spec.widths);
    if (spec.dropout >= 0) o.dropout(spec.dropout);
    return Cnn(o).ptr();
  }
  if (spec.name == "vgg16") {
    MN_CHECK_USAGE(info.spatial_dims() == 2, "vgg16 is a 2D network; ", info.flag, " is 3D");
    VggOptions o(info.num_outputs());
    o.in_channels(info.channels).input_size(spec.input_size > 0 ? spec.input_size : 64);
    o.imagenet_norm(spec.imagenet_norm).hidden(spec.hidden);
    if (spec.dropout >= 0) o.dropout(spec.dropout);
    return Vgg(o).ptr();
  }
  const auto [skip, depth] = residual_depth(spec.name);
  ResNetOptions o = resnet_options(depth, info.num_outputs());
  o.in_channels(info.channels).spatial_dims(info.spatial_dims()).skip(skip);
  o.small_stem(spec.stem == "small" || (spec.stem == "auto" && size <= 32));
  if (!spec.widths.empty()) o.widths(spec.widths);
  if (spec.dropout >= 0) o.dropout(spec.dropout);
  return ResNet(o).ptr();
}

}  // namespace mednet::models
