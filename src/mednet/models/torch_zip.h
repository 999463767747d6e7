#pragma once
// Files in torch's zip format: state dicts that torch.save wrote (PyTorch >= 1.6) and LibTorch's own
// archives. ARCHIVE/data.pkl is read by mednet's own unpickler (models/pickle_machine.h), and the
// ARCHIVE/data/N storage records through the bounded zip reader.
#include <string>

#include "mednet/models/state_dict.h"
#include "mednet/models/state_dict_pickle.h"

namespace mednet::models {

/// A state dict saved by torch.save (zip format); tensors read as float32.
StateDict read_torch_zip(const std::string& path);

/// Everything the archive's data.pkl holds, flattened (see unpickle_contents): also LibTorch's own
/// archives (torch::save of a module or an optimizer), whose TorchScript code is never read.
PickleContents read_torch_zip_contents(const std::string& path);

/// Whether the file begins with a zip's magic number (torch.save and LibTorch archives do).
bool is_torch_zip(const std::string& path);

}  // namespace mednet::models
