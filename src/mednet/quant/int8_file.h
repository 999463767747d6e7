#pragma once
// The int8 model file: one .safetensors file with int8 weights ("layers.N.weight"), float64
// per-channel scales and float32 biases; its "mednet" metadata holds the format and version, the mode,
// the input quantization, the layer list (op, source module names, kernel, stride, padding, ReLU,
// output scale and zero point) and free-form info. Writer and reader live together.
#include <string>

#include <nlohmann/json.hpp>

#include "mednet/quant/int8_net.h"

namespace mednet::quant {

/// Writes the int8 file; info (JSON) is stored in its metadata next to the layer list.
void write_int8_file(const std::string& path, const Int8Net& net, const nlohmann::json& info);
/// Reads a file written by write_int8_file; info receives what was stored with it. A file that is
/// not one is an error naming it.
Int8Net read_int8_file(const std::string& path, nlohmann::json* info = nullptr);

}  // namespace mednet::quant
