#include "mednet/models/pretrained.h"

#include <cstdlib>
#include <filesystem>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"

namespace mednet::models {

const std::vector<PretrainedWeights>& pretrained_weights() {
  static const std::vector<PretrainedWeights> all = {
      {"vgg16", "timm vgg16.tv_in1k (torchvision's ImageNet-1k VGG16 weights, safetensors)",
       "https://huggingface.co/timm/vgg16.tv_in1k/resolve/main/model.safetensors", "",
       "vgg16.tv_in1k.safetensors"},
  };
  return all;
}

const PretrainedWeights& find_pretrained(const std::string& model) {
  std::string known;
  for (const auto& w : pretrained_weights()) {
    if (w.model == model) return w;
    known += (known.empty() ? "" : ", ") + w.model;
  }
  MN_CHECK_USAGE(false, "no ImageNet weights are known for '", model, "' (known: ", known, ")");
  return pretrained_weights().front();
}

std::string cached_weights_path(const std::string& model) {
  return core::cache_dir() + "/weights/" + find_pretrained(model).file_name;
}

std::string resolve_weights(const std::string& weights, const std::string& model) {
  if (weights.empty()) return "";
  if (weights == "imagenet") {
    const std::string path = cached_weights_path(model);
    return std::filesystem::exists(path) ? path : "";
  }
  MN_CHECK_USAGE(std::filesystem::is_regular_file(weights), "weights file ", weights, " does not exist");
  return weights;
}

}  // namespace mednet::models
