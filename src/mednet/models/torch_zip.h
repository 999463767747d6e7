#pragma once
// State dicts that torch.save wrote in its zip format (PyTorch >= 1.6): ARCHIVE/data.pkl, read by
// mednet's own unpickler (models/state_dict_pickle.h), and the ARCHIVE/data/N storage records.
#include <string>

#include "mednet/models/state_dict.h"

namespace mednet::models {

/// A state dict saved by torch.save (zip format); tensors read as float32.
StateDict read_torch_zip(const std::string& path);

}  // namespace mednet::models
