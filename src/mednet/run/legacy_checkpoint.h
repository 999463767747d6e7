#pragma once
// Checkpoints of runs written before checkpoints became safetensors files: LibTorch archives
// (torch::serialize::OutputArchive, a zip holding a pickle of nested attribute holders). They are read
// as plain tensors by mednet's own unpickler (models/torch_zip.h), never by LibTorch, and converted to
// what a safetensors checkpoint holds, so run/checkpoint.cpp checks and loads both the same way.
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "mednet/models/state_dict.h"

namespace mednet::run {

/// A checkpoint's contents, whatever its format: tensors by name and, for an optimizer, its scalars as
/// JSON ({"type": "adam"|"sgd", "groups": [{"lr", "steps": [...]}]}, a step of -1 meaning no state).
struct CheckpointContents {
  std::map<std::string, at::Tensor> tensors;
  std::string optimizer;
};

/// The name of one optimizer state tensor (what: exp_avg, exp_avg_sq, max_exp_avg_sq, momentum_buffer) of
/// parameter j of group g, in every optimizer checkpoint: "group<g>.param<j>.<what>".
std::string state_name(size_t group, size_t param, const std::string& what);

/// A file's tensors by name (a name given twice keeps its first tensor; the readers refuse repeats).
std::map<std::string, at::Tensor> tensors_by_name(const models::StateDict& tensors);

/// A module archive: its tensors by their dotted names ("features.0.weight").
CheckpointContents read_legacy_module(const std::string& path);

/// An Adam or SGD archive: the state of parameter j of group g as "group<g>.param<j>.exp_avg" (and
/// exp_avg_sq, max_exp_avg_sq, momentum_buffer). Anything missing or malformed is an error naming the
/// file and the entry.
CheckpointContents read_legacy_optimizer(const std::string& path);

}  // namespace mednet::run
