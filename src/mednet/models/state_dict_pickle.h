#pragma once
// What a pickle read by models/pickle_machine.h holds: a state dict (torch.save of a model's
// state_dict()), or everything in it flattened to names (LibTorch's own archives, which hold nested
// attribute holders: a module's tensors, or an optimizer's state and parameter groups).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mednet/models/pickle_machine.h"
#include "mednet/models/state_dict.h"

namespace mednet::models {

using pickle::StorageRecords;

/// The state dict a pickle holds: its tensors (float32, in the dict's order; entries that are not
/// tensors are skipped). Anything else in the pickle, or damage, is an error naming `what`.
StateDict unpickle_state_dict(const char* data, size_t size, const StorageRecords& records,
                              const std::string& what);

/// Everything a pickle holds, each leaf named by its path of dict keys and attribute names joined with
/// '.' ("features.0.weight", "state.0x5581.step"): tensors in the file's order and dtype, and every other
/// leaf as JSON (a tuple or list of plain values as an array). Two leaves with one name, or a key that is
/// not a string, are errors naming `what`.
struct PickleContents {
  StateDict tensors;
  std::map<std::string, nlohmann::json> values;
};
PickleContents unpickle_contents(const char* data, size_t size, const StorageRecords& records,
                                 const std::string& what);

}  // namespace mednet::models
