#pragma once
// State dicts that torch.save wrote in its zip format (PyTorch >= 1.6): data.pkl, with the pickled
// OrderedDict rewritten into a plain dict that LibTorch's unpickler reads, and data/N tensor records.
#include <string>

#include "mednet/models/state_dict.h"

namespace mednet::models {

/// A state dict saved by torch.save (zip format); tensors read as float32.
StateDict read_torch_zip(const std::string& path);

}  // namespace mednet::models
