#include "mednet/models/registry.h"

#include <algorithm>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"
#include "mednet/models/cnn.h"
#include "mednet/models/ordinal_head.h"
#include "mednet/models/resnet.h"
#include "mednet/models/vgg.h"

namespace mednet::models {

namespace {

Classifier build_cnn(const ModelSpec& spec, const data::InputShape& in) {
  CnnOptions o(in.outputs);
  o.in_channels(in.channels)
      .spatial_dims(in.spatial_dims)
      .input_size(in.size)
      .convs_per_stage(spec.convs_per_stage)
      .hidden(spec.hidden)
      .global_pool(spec.global_pool);
  if (!spec.widths.empty()) o.widths(spec.widths);
  if (spec.dropout >= 0) o.dropout(spec.dropout);
  return Cnn(o).ptr();
}

Classifier build_vgg16(const ModelSpec& spec, const data::InputShape& in) {
  MN_CHECK_USAGE(in.spatial_dims == 2, "vgg16 is a 2D network; this dataset is 3D");
  VggOptions o(in.outputs);
  o.in_channels(in.channels).input_size(spec.input_size > 0 ? spec.input_size : 64);
  o.imagenet_norm(spec.imagenet_norm).hidden(spec.hidden);
  if (spec.dropout >= 0) o.dropout(spec.dropout);
  return Vgg(o).ptr();
}

// ResNet (skip = true) or its plain twin of a depth.
auto residual(int depth, bool skip) {
  return [depth, skip](const ModelSpec& spec, const data::InputShape& in) -> Classifier {
    ResNetOptions o = resnet_options(depth, in.outputs);
    o.in_channels(in.channels).spatial_dims(in.spatial_dims).skip(skip);
    o.small_stem(spec.stem == "small" || (spec.stem == "auto" && in.size <= 32));
    if (!spec.widths.empty()) o.widths(spec.widths);
    if (spec.dropout >= 0) o.dropout(spec.dropout);
    return ResNet(o).ptr();
  };
}

std::vector<ModelEntry> make_table() {
  const std::vector<std::string> cnn_keys{"widths", "convs_per_stage", "hidden", "dropout", "global_pool"};
  const std::vector<std::string> vgg_keys{"hidden", "dropout", "input_size", "imagenet_norm"};
  const std::vector<std::string> res_keys{"widths", "dropout", "stem"};
  std::vector<ModelEntry> t{{"cnn", build_cnn, cnn_keys}, {"vgg16", build_vgg16, vgg_keys}};
  for (bool skip : {true, false})
    for (int depth : {18, 34, 50, 101, 152})
      t.push_back({(skip ? "resnet" : "plain") + std::to_string(depth), residual(depth, skip), res_keys});
  return t;
}

const ModelEntry* find_entry(const std::string& name) {
  for (const auto& e : model_registry())
    if (e.name == name) return &e;
  return nullptr;
}

// Keys of spec whose value differs from a default ModelSpec's. imagenet_norm is left out: pretrained
// weights switch it on for any model.
std::vector<std::string> keys_set(const ModelSpec& spec) {
  const ModelSpec d;
  std::vector<std::string> out;
  if (spec.widths != d.widths) out.push_back("widths");
  if (spec.convs_per_stage != d.convs_per_stage) out.push_back("convs_per_stage");
  if (spec.hidden != d.hidden) out.push_back("hidden");
  if (spec.global_pool != d.global_pool) out.push_back("global_pool");
  if (spec.stem != d.stem) out.push_back("stem");
  if (spec.input_size != d.input_size) out.push_back("input_size");
  return out;
}

}  // namespace

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> table = make_table();
  return table;
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& e : model_registry()) names.push_back(e.name);
  return names;
}

void validate(const ModelSpec& spec) {
  const ModelEntry* entry = find_entry(spec.name);
  MN_CHECK_USAGE(entry != nullptr, "unknown model '", spec.name,
                 "'; valid models: ", core::join(model_names(), ", "));
  MN_CHECK_USAGE(spec.dropout < 1 && (spec.dropout >= 0 || spec.dropout == -1),
                 "model.dropout must be in [0, 1) (or -1 for the model's default), got ", spec.dropout);
  for (int64_t w : spec.widths)
    MN_CHECK_USAGE(w >= 1 && w <= 65536, "model.widths must be from 1 to 65536, got ", w);
  for (int64_t h : spec.hidden)
    MN_CHECK_USAGE(h >= 1 && h <= 65536, "model.hidden must be from 1 to 65536, got ", h);
  MN_CHECK_USAGE(spec.stem == "auto" || spec.stem == "small" || spec.stem == "standard",
                 "model.stem must be auto, small or standard, got '", spec.stem, "'");
  MN_CHECK_USAGE(spec.input_size == 0 || spec.input_size >= 32,
                 "model.input_size must be 0 (the model's default) or >= 32, got ", spec.input_size);
  MN_CHECK_USAGE(spec.convs_per_stage >= 1, "model.convs_per_stage must be >= 1");
  MN_CHECK_USAGE(spec.head == "softmax" || spec.head == "corn", "model.head must be softmax or corn, got '",
                 spec.head, "'");
  for (const auto& key : keys_set(spec)) {
    const auto& keys = entry->option_keys;
    if (key == "widths" && spec.name == "vgg16")
      MN_CHECK_USAGE(false, "model.widths does not apply to vgg16 (its widths are fixed)");
    MN_CHECK_USAGE(std::find(keys.begin(), keys.end(), key) != keys.end(), "model.", key,
                   " does not apply to ", spec.name, " (its options: ", core::join(keys, ", "), ")");
  }
  if (entry->name != "cnn" && entry->name != "vgg16") {
    MN_CHECK_USAGE(spec.widths.empty() || spec.widths.size() == 4, "model.widths of ", spec.name,
                   " must have 4 entries (one per stage), got ", spec.widths.size());
  }
}

Classifier make_model(const ModelSpec& spec, const data::InputShape& shape) {
  validate(spec);
  if (spec.head == "corn") {
    MN_CHECK_USAGE(shape.outputs >= 3, "model.head corn needs at least 3 ordered classes, got ",
                   shape.outputs);
    data::InputShape tasks = shape;
    tasks.outputs = shape.outputs - 1;  // one binary task per step between grades
    return Corn(find_entry(spec.name)->build(spec, tasks)).ptr();
  }
  return find_entry(spec.name)->build(spec, shape);
}

}  // namespace mednet::models
