#include "mednet/models/state_dict_pickle.h"

#include <algorithm>
#include <set>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"

namespace mednet::models {

namespace {

using pickle::Value;
using pickle::ValuePtr;

bool plain(const Value& v) {
  return v.kind == Value::Kind::None || v.kind == Value::Kind::Bool || v.kind == Value::Kind::Int ||
         v.kind == Value::Kind::Float || v.kind == Value::Kind::String;
}

nlohmann::json plain_json(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Bool:
      return v.number != 0;
    case Value::Kind::Int:
      return v.number;
    case Value::Kind::Float:
      return v.real;
    case Value::Kind::String:
      return v.text;
    default:
      return nullptr;
  }
}

class Flattener {
 public:
  Flattener(PickleContents& out, const std::string& what, size_t size)
      : out_(out), what_(what), budget_(size + 1024) {}

  // The recursion is as deep as the values nest: at most 32 (pickle_machine.h). A value held in many
  // places is visited in each, so visits are bounded by the pickle's size: each place costs an opcode,
  // and only a pickle that nests shared containers in shared containers visits more.
  void add(const Value& v, const std::string& name) {
    MN_CHECK(budget_-- > 0, what_,
             " refers to its own values more often than its size allows: it is damaged");
    const auto joined = [&](const std::string& key) { return name.empty() ? key : name + "." + key; };
    switch (v.kind) {
      case Value::Kind::Dict:
      case Value::Kind::Object:
        for (const auto& [key, value] : v.entries) {
          MN_CHECK(key->kind == Value::Kind::String, what_, ": a key under '", core::escape_bytes(name),
                   "' is not a string");
          add(*value, joined(key->text));
        }
        return;
      case Value::Kind::Tuple:
      case Value::Kind::List:
        if (std::all_of(v.items.begin(), v.items.end(), [](const ValuePtr& i) { return plain(*i); })) {
          nlohmann::json a = nlohmann::json::array();
          for (const auto& i : v.items) a.push_back(plain_json(*i));
          return leaf(name, [&] { out_.values[name] = std::move(a); });
        }
        for (size_t k = 0; k < v.items.size(); ++k) add(*v.items[k], joined(std::to_string(k)));
        return;
      case Value::Kind::Tensor:
        return leaf(name, [&] { out_.tensors.emplace_back(name, v.tensor); });
      case Value::Kind::Global:
      case Value::Kind::Storage:
        return;  // a class or a bare storage: nothing a reader uses
      default:
        return leaf(name, [&] { out_.values[name] = plain_json(v); });
    }
  }

 private:
  template <typename Store>
  void leaf(const std::string& name, const Store& store) {
    MN_CHECK(names_.insert(name).second, what_, " holds two values named '", core::escape_bytes(name), "'");
    store();
  }

  PickleContents& out_;
  const std::string& what_;
  std::set<std::string> names_;
  size_t budget_;
};

}  // namespace

StateDict unpickle_state_dict(const char* data, size_t size, const StorageRecords& records,
                              const std::string& what) {
  const ValuePtr v = pickle::unpickle(data, size, records, what);
  MN_CHECK(v->kind == Value::Kind::Dict, what, " does not hold a state dict (name -> tensor)");
  StateDict out;
  for (const auto& [key, value] : v->entries) {
    MN_CHECK(key->kind == Value::Kind::String, what, ": a state dict key is not a string");
    if (value->kind == Value::Kind::Tensor) out.emplace_back(key->text, value->tensor.to(at::kFloat));
  }
  return out;
}

PickleContents unpickle_contents(const char* data, size_t size, const StorageRecords& records,
                                 const std::string& what) {
  const ValuePtr v = pickle::unpickle(data, size, records, what);
  MN_CHECK(v->kind == Value::Kind::Dict || v->kind == Value::Kind::Object, what,
           " holds neither a dict nor an archive's object at its top");
  PickleContents out;
  Flattener(out, what, size).add(*v, "");
  return out;
}

}  // namespace mednet::models
