#include "mednet/models/weights.h"

#include <filesystem>
#include <fstream>
#include <map>

#include <torch/torch.h>

#include "mednet/core/error.h"

namespace mednet::models {

StateDict read_state_dict(const std::string& path) {
  // Only the magic number: the reader chosen reads the (possibly 500 MB) file itself.
  MN_CHECK_USAGE(std::filesystem::is_regular_file(path), "weights file ", path, " does not exist");
  char magic[4] = {0, 0, 0, 0};
  std::ifstream(path, std::ios::binary).read(magic, 4);
  if (std::string(magic, 4) == std::string("PK\x03\x04", 4)) return read_torch_zip(path);
  return read_safetensors(path);
}

StateDict state_dict(const torch::nn::Module& model) {
  StateDict out;
  for (const auto& p : model.named_parameters()) out.emplace_back(p.key(), p.value().detach().cpu());
  for (const auto& b : model.named_buffers()) out.emplace_back(b.key(), b.value().detach().cpu());
  return out;
}

LoadReport load_weights(torch::nn::Module& model, const StateDict& weights, const std::string& head_prefix,
                        bool load_head, const std::string& source) {
  std::map<std::string, at::Tensor> file(weights.begin(), weights.end());
  std::vector<std::pair<std::string, at::Tensor>> targets;
  for (const auto& p : model.named_parameters()) targets.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers()) targets.emplace_back(b.key(), b.value());

  LoadReport report;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // checked first, copied after
  for (const auto& [name, target] : targets) {
    const bool head = name.rfind(head_prefix, 0) == 0;
    const auto it = file.find(name);
    if (head) {
      if (load_head && it != file.end() && it->second.sizes() == target.sizes()) {
        copies.emplace_back(target, it->second);
        report.loaded.push_back(name);
      } else {
        report.kept.push_back(name);
      }
      continue;
    }
    MN_CHECK(it != file.end(), "key '", name, "' is missing from ", source, " (it has ", weights.size(),
             " tensors; is it the right architecture?)");
    MN_CHECK(it->second.sizes() == target.sizes(), "key '", name, "' has shape ",
             shape_string(it->second.sizes()), " in ", source, ", the model expects ",
             shape_string(target.sizes()));
    copies.emplace_back(target, it->second);
    report.loaded.push_back(name);
  }
  std::map<std::string, bool> known;
  for (const auto& t : targets) known[t.first] = true;
  for (const auto& w : weights)
    if (!known.count(w.first)) report.ignored.push_back(w.first);

  torch::NoGradGuard no_grad;
  for (auto& [target, value] : copies) target.copy_(value.to(target.device(), target.scalar_type()));
  return report;
}

}  // namespace mednet::models
