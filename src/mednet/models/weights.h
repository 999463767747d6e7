#pragma once
// Weights from outside a run: ImageNet backbones saved by torchvision or timm (safetensors, or a
// state dict that torch.save wrote in its zip format), and the checkpoint of another mednet run.
// Every name and shape is checked; a mismatch is an error naming the key.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace mednet::models {

/// Name -> tensor, in the file's order.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

/// A .safetensors file (F32, F16, BF16 or F64 tensors, read as float32).
StateDict read_safetensors(const std::string& path);

/// A .safetensors file as stored: tensors in their own dtype (F32, F16, BF16, F64, I8, U8, I32, I64)
/// and the header's "__metadata__" strings.
struct TensorFile {
  StateDict tensors;
  std::map<std::string, std::string> metadata;
};
TensorFile read_safetensors_file(const std::string& path);
/// Writes tensors (dtypes as above, CPU) and metadata as .safetensors, through a temporary file and a
/// rename.
void write_safetensors(const std::string& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata = {});
/// A state dict saved by torch.save (zip format, PyTorch >= 1.6).
StateDict read_torch_zip(const std::string& path);
/// Either of the two, told apart by the file's first bytes.
StateDict read_state_dict(const std::string& path);

struct LoadReport {
  std::vector<std::string> loaded;   ///< model keys set from the file
  std::vector<std::string> kept;     ///< head keys left as initialised (absent or another shape)
  std::vector<std::string> ignored;  ///< file keys the model does not have (a pretrained classifier)
};

/// Copies the file's tensors into the model's parameters and buffers. Every key outside the head
/// (head_prefix) must be in the file with the same shape, else an error names it and nothing is
/// changed. Head keys are copied only when load_head is true and the shapes agree (a new dataset
/// with other classes keeps its fresh output layer).
LoadReport load_weights(torch::nn::Module& model, const StateDict& weights, const std::string& head_prefix,
                        bool load_head, const std::string& source);

/// The model's parameters and buffers as a state dict (CPU copies).
StateDict state_dict(const torch::nn::Module& model);

}  // namespace mednet::models
