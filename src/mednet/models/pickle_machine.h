#pragma once
// The stack machine that reads a pickle (data.pkl in a torch zip archive): only the opcodes and
// globals that tensors need (PyTorch's weights_only allow list: dicts, OrderedDict, tuples, lists,
// numbers, strings, the tensor and parameter rebuilders and the typed storages, plus the attribute
// holders of LibTorch's own archives), every size and offset checked against the pickle and the
// storage records before anything is allocated, nothing ever called or imported. What the values
// mean is read in models/state_dict_pickle.h.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace mednet::models::pickle {

/// A storage record's bytes by its key ("0", "1", ...): data/<key> in the archive.
using StorageRecords = std::function<std::shared_ptr<const std::string>(const std::string& key)>;

struct Value;
using ValuePtr = std::shared_ptr<Value>;

/// One value of the pickle. Containers nest at most 32 deep and never hold themselves.
struct Value {
  enum class Kind { None, Bool, Int, Float, String, Global, Tuple, List, Dict, Object, Storage, Tensor };
  explicit Value(Kind k) : kind(k) {}
  Kind kind;
  int64_t number = 0;  // Bool, Int; a Storage's element count
  double real = 0;
  std::string text;                                    // String; a Global's or Object's "module.name"
  std::vector<ValuePtr> items;                         // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // Dict, Object (attributes), in insertion order
  std::shared_ptr<const std::string> bytes;            // Storage
  at::ScalarType dtype = at::kFloat;                   // Storage
  at::Tensor tensor;                                   // Tensor
  int depth = 1;
  bool sealed = false;  // held by a container: never changed again (so no cycle can form)
  bool built = false;   // Object: its attributes are set
};

/// Runs the pickle and returns the one value it leaves. Damage, or anything outside the allow list, is
/// an error naming `what`.
ValuePtr unpickle(const char* data, size_t size, const StorageRecords& records, const std::string& what);

}  // namespace mednet::models::pickle
