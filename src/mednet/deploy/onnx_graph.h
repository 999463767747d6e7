#pragma once
// An ONNX graph as it is built: named inputs, initializers (weights), nodes and outputs, kept in plain
// structures so that the code walking a network needs no protobuf. save() writes the ModelProto
// through Debian's libonnx (optional at configure time: without it, save() is an error that says so).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace mednet::deploy {

struct OnnxAttr {
  enum class Type { Int, Ints, Float, String } type = Type::Int;
  std::string name;
  int64_t i = 0;
  std::vector<int64_t> ints;
  float f = 0;
  std::string s;
};
OnnxAttr attr(const std::string& name, int64_t value);
OnnxAttr attr(const std::string& name, std::vector<int64_t> values);
OnnxAttr attr_float(const std::string& name, float value);
OnnxAttr attr_string(const std::string& name, std::string value);

struct OnnxNode {
  std::string op;
  std::string name;
  std::vector<std::string> inputs, outputs;
  std::vector<OnnxAttr> attrs;
};

/// A tensor's name, element type (float32 or int64 here) and shape; a negative size is the symbolic
/// batch dimension "N".
struct OnnxValue {
  std::string name;
  std::vector<int64_t> dims;
};

class OnnxGraph {
 public:
  explicit OnnxGraph(std::string name) : name_(std::move(name)) {}

  /// A float32 graph input.
  std::string input(const std::string& name, std::vector<int64_t> dims);
  /// Declares a float32 graph output.
  void output(const std::string& name, std::vector<int64_t> dims);
  /// A weight stored in the file (float32, int64, int8 or uint8 CPU tensor, copied).
  std::string initializer(const std::string& name, const at::Tensor& value);
  /// Appends a node; returns its (single) output's name: out when given, else a fresh "<op>_<n>".
  std::string node(const std::string& op, std::vector<std::string> inputs, std::vector<OnnxAttr> attrs = {},
                   const std::string& out = "");

  const std::vector<OnnxNode>& nodes() const { return nodes_; }
  const std::vector<std::pair<std::string, at::Tensor>>& initializers() const { return initializers_; }

  /// Writes the model (ONNX IR 7, default-domain opset `opset`) with the metadata as metadata_props,
  /// through a temporary file and a rename.
  void save(const std::string& path, int opset, const std::map<std::string, std::string>& metadata) const;

 private:
  std::string name_;
  std::vector<OnnxValue> inputs_, outputs_;
  std::vector<std::pair<std::string, at::Tensor>> initializers_;
  std::vector<OnnxNode> nodes_;
  std::map<std::string, int> counts_;
};

/// True when this build can write ONNX files (libonnx was found at configure time).
bool onnx_available();

}  // namespace mednet::deploy
