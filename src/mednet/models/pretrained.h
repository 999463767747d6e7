#pragma once
// ImageNet weights that `mednet weights fetch` knows, and where they are cached.
#include <string>
#include <vector>

namespace mednet::models {

struct PretrainedWeights {
  std::string model;      ///< registry model name ("vgg16")
  std::string source;     ///< what the file is ("timm vgg16.tv_in1k: torchvision's ImageNet-1k VGG16")
  std::string url;        ///< official address
  std::string sha256;     ///< pinned digest; empty = the digest the server publishes for the file
  std::string file_name;  ///< name in the cache
};

/// Every entry (for listings and errors).
const std::vector<PretrainedWeights>& pretrained_weights();
/// Looks a model up; unknown names are a usage error listing the known ones.
const PretrainedWeights& find_pretrained(const std::string& model);

/// Where `mednet weights fetch MODEL` puts the file (under core::cache_dir()).
std::string cached_weights_path(const std::string& model);

/// What transfer.weights names, as a file: "imagenet" -> the cached file of the model (empty when it
/// has not been fetched); anything else is a path, which must exist.
std::string resolve_weights(const std::string& weights, const std::string& model);

}  // namespace mednet::models
