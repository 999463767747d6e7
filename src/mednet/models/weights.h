#pragma once
// Weights from outside a run: ImageNet backbones saved by torchvision or timm (safetensors, or a
// state dict that torch.save wrote in its zip format), and the checkpoint of another mednet run.
// Every name and shape is checked; a mismatch is an error naming the key.
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "mednet/models/safetensors.h"
#include "mednet/models/state_dict.h"
#include "mednet/models/torch_zip.h"

namespace mednet::models {

/// A .safetensors or torch.save (zip) file, told apart by the file's first bytes.
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

/// The model's parameters, then its buffers, by name (the tensors themselves, not copies).
torch::OrderedDict<std::string, at::Tensor> module_tensors(const torch::nn::Module& model);

/// Puts the model's convolution weights in the layout its inputs come in (core::conv_layout), so that
/// convolutions need no layout conversion. Values, names and shapes stay as they are.
void to_conv_layout(torch::nn::Module& model);

/// The model's parameters and buffers as a state dict (CPU copies).
StateDict state_dict(const torch::nn::Module& model);

}  // namespace mednet::models
