#pragma once
// A full-integer int8 model (mednet quantize --mode static or qat) as an ONNX graph in the QDQ form
// (opset 13): int8 weights with per-output-channel scales behind DequantizeLinear, float convolution,
// Gemm, add and pooling operators, and a QuantizeLinear / DequantizeLinear pair wherever the int8
// model rounds an activation to its uint8 grid (the input, each convolution, linear layer, add and the
// average pool), with the int8 model's scales and zero points. Runtimes that fuse QDQ pairs into
// integer kernels run it in int8; any ONNX runtime computes the same numbers in float.
#include <string>

#include "mednet/deploy/export.h"
#include "mednet/deploy/onnx_graph.h"
#include "mednet/quant/int8_net.h"

namespace mednet::deploy {

/// The graph of a full-integer network for [N, in_channels, size, ...] inputs with `dims` spatial
/// dimensions and `classes` outputs; a dynamic-range network is a usage error.
OnnxGraph onnx_int8_graph(const quant::Int8Net& net, int64_t in_channels, int size, int dims,
                          int64_t classes);

/// An int8 folder (model_int8.safetensors and config.json from mednet quantize) written as QDQ ONNX, with
/// export_metadata and "mednet.int8" (mode and scales' source).
ExportResult export_onnx_int8(const std::string& int8_dir, const std::string& out);

}  // namespace mednet::deploy
