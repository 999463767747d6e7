#include "mednet/deploy/onnx_graph.h"

#include <ATen/ATen.h>

#include "mednet/build_config.h"
#include "mednet/core/error.h"
#include "mednet/core/fs.h"

#if MEDNET_HAVE_ONNX
#include <onnx/onnx_pb.h>
#endif

namespace mednet::deploy {

OnnxAttr attr(const std::string& name, int64_t value) {
  OnnxAttr a;
  a.type = OnnxAttr::Type::Int;
  a.name = name;
  a.i = value;
  return a;
}

OnnxAttr attr(const std::string& name, std::vector<int64_t> values) {
  OnnxAttr a;
  a.type = OnnxAttr::Type::Ints;
  a.name = name;
  a.ints = std::move(values);
  return a;
}

OnnxAttr attr_float(const std::string& name, float value) {
  OnnxAttr a;
  a.type = OnnxAttr::Type::Float;
  a.name = name;
  a.f = value;
  return a;
}

OnnxAttr attr_string(const std::string& name, std::string value) {
  OnnxAttr a;
  a.type = OnnxAttr::Type::String;
  a.name = name;
  a.s = std::move(value);
  return a;
}

std::string OnnxGraph::input(const std::string& name, std::vector<int64_t> dims) {
  inputs_.push_back({name, std::move(dims)});
  return name;
}

void OnnxGraph::output(const std::string& name, std::vector<int64_t> dims) {
  outputs_.push_back({name, std::move(dims)});
}

std::string OnnxGraph::initializer(const std::string& name, const at::Tensor& value) {
  const auto type = value.scalar_type();
  MN_CHECK(type == at::kFloat || type == at::kLong || type == at::kChar || type == at::kByte,
           "ONNX initializer ", name, ": float32, int64, int8 or uint8 expected");
  initializers_.emplace_back(name, value.detach().to(at::kCPU).contiguous().clone());
  return name;
}

std::string OnnxGraph::node(const std::string& op, std::vector<std::string> inputs,
                            std::vector<OnnxAttr> attrs, const std::string& out) {
  const int n = counts_[op]++;
  OnnxNode node;
  node.op = op;
  node.name = op + "_" + std::to_string(n);
  node.inputs = std::move(inputs);
  node.outputs = {out.empty() ? node.name : out};
  node.attrs = std::move(attrs);
  nodes_.push_back(std::move(node));
  return nodes_.back().outputs[0];
}

#if MEDNET_HAVE_ONNX

namespace {
void set_value_info(onnx::ValueInfoProto* v, const OnnxValue& value) {
  v->set_name(value.name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = t->mutable_shape();
  for (int64_t d : value.dims) {
    auto* dim = shape->add_dim();
    if (d < 0) {
      dim->set_dim_param("N");
    } else {
      dim->set_dim_value(d);
    }
  }
}
}  // namespace

bool onnx_available() {
  return true;
}

void OnnxGraph::save(const std::string& path, int opset,
                     const std::map<std::string, std::string>& metadata) const {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.set_producer_name("mednet");
  auto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  for (const auto& [k, v] : metadata) {
    auto* p = model.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }
  auto* g = model.mutable_graph();
  g->set_name(name_);
  for (const auto& v : inputs_) set_value_info(g->add_input(), v);
  for (const auto& v : outputs_) set_value_info(g->add_output(), v);
  for (const auto& [name, t] : initializers_) {
    auto* p = g->add_initializer();
    p->set_name(name);
    for (int64_t d : t.sizes()) p->add_dims(d);
    const auto type = t.scalar_type();
    p->set_data_type(type == at::kFloat  ? onnx::TensorProto::FLOAT
                     : type == at::kLong ? onnx::TensorProto::INT64
                     : type == at::kChar ? onnx::TensorProto::INT8
                                         : onnx::TensorProto::UINT8);
    p->set_raw_data(std::string(static_cast<const char*>(t.data_ptr()), t.nbytes()));
  }
  for (const auto& n : nodes_) {
    auto* p = g->add_node();
    p->set_op_type(n.op);
    p->set_name(n.name);
    for (const auto& i : n.inputs) p->add_input(i);
    for (const auto& o : n.outputs) p->add_output(o);
    for (const auto& a : n.attrs) {
      auto* q = p->add_attribute();
      q->set_name(a.name);
      switch (a.type) {
        case OnnxAttr::Type::Int:
          q->set_type(onnx::AttributeProto::INT);
          q->set_i(a.i);
          break;
        case OnnxAttr::Type::Ints:
          q->set_type(onnx::AttributeProto::INTS);
          for (int64_t v : a.ints) q->add_ints(v);
          break;
        case OnnxAttr::Type::Float:
          q->set_type(onnx::AttributeProto::FLOAT);
          q->set_f(a.f);
          break;
        case OnnxAttr::Type::String:
          q->set_type(onnx::AttributeProto::STRING);
          q->set_s(a.s);
          break;
      }
    }
  }
  std::string bytes;
  MN_CHECK(model.SerializeToString(&bytes), path, ": the ONNX model could not be serialised (over 2 GB?)");
  core::write_file_atomic(path, bytes);
}

#else

bool onnx_available() {
  return false;
}

void OnnxGraph::save(const std::string& path, int, const std::map<std::string, std::string>&) const {
  MN_CHECK(false, path,
           ": this mednet was built without ONNX support (libonnx-dev was not found when it "
           "was configured; install it and rebuild)");
}

#endif

}  // namespace mednet::deploy
