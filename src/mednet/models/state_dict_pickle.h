#pragma once
// The pickle inside a torch.save file (data.pkl), read by mednet's own unpickler: only what a state dict
// needs (PyTorch's weights_only allow list: dicts, OrderedDict, tuples, lists, numbers, strings, the
// tensor and parameter rebuilders and the typed storages), every size and offset checked against the
// pickle and the storage records before anything is allocated, nothing ever called or imported.
#include <functional>
#include <memory>
#include <string>

#include "mednet/models/state_dict.h"

namespace mednet::models {

/// A storage record's bytes by its key ("0", "1", ...): data/<key> in the archive.
using StorageRecords = std::function<std::shared_ptr<const std::string>(const std::string& key)>;

/// The state dict a pickle holds: its tensors (float32, in the dict's order; entries that are not
/// tensors are skipped). Anything else in the pickle, or damage, is an error naming `what`.
StateDict unpickle_state_dict(const char* data, size_t size, const StorageRecords& records,
                              const std::string& what);

}  // namespace mednet::models
