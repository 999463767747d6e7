#include "mednet/models/weights.h"

#include <filesystem>
#include <map>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"

namespace mednet::models {

StateDict read_state_dict(const std::string& path) {
  // Only the magic number: the reader chosen reads the (possibly 500 MB) file itself.
  MN_CHECK_USAGE(std::filesystem::is_regular_file(path), "weights file ", path, " does not exist");
  if (is_torch_zip(path)) return read_torch_zip(path);
  return read_safetensors(path);
}

torch::OrderedDict<std::string, at::Tensor> module_tensors(const torch::nn::Module& model) {
  auto out = model.named_parameters();
  for (const auto& b : model.named_buffers()) out.insert(b.key(), b.value());
  return out;
}

void to_conv_layout(torch::nn::Module& model) {
  // A convolution with fewer than 8 outputs keeps its weights as they are (core::conv_layout says why).
  for (auto& p : model.parameters())
    if (p.dim() < 4 || p.size(0) >= 8) p.set_data(core::conv_layout(p.data()));
}

StateDict state_dict(const torch::nn::Module& model) {
  StateDict out;
  for (const auto& t : module_tensors(model)) out.emplace_back(t.key(), t.value().detach().cpu());
  return out;
}

LoadReport load_weights(torch::nn::Module& model, const StateDict& weights, const std::string& head_prefix,
                        bool load_head, const std::string& source) {
  std::map<std::string, at::Tensor> file(weights.begin(), weights.end());
  const auto targets = module_tensors(model);

  LoadReport report;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // checked first, copied after
  for (const auto& t : targets) {
    const std::string& name = t.key();
    const at::Tensor& target = t.value();
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
  for (const auto& w : weights)
    if (!targets.contains(w.first)) report.ignored.push_back(w.first);

  torch::NoGradGuard no_grad;
  for (auto& [target, value] : copies) target.copy_(value.to(target.device(), target.scalar_type()));
  return report;
}

}  // namespace mednet::models
