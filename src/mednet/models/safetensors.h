#pragma once
// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header (dtype, shape and byte range of every tensor, "__metadata__" strings), then
// the raw little-endian tensor bytes. Reader and writer live together and are tested as a round trip.
#include <map>
#include <string>

#include "mednet/core/fs.h"
#include "mednet/models/state_dict.h"

namespace mednet::models {

/// A .safetensors file (F32, F16, BF16 or F64 tensors, read as float32).
StateDict read_safetensors(const std::string& path);

/// A .safetensors file as stored: tensors in their own dtype (F32, F16, BF16, F64, I8, U8, I32, I64)
/// and the header's "__metadata__" strings.
struct TensorFile {
  StateDict tensors;
  std::map<std::string, std::string> metadata;
};
TensorFile read_safetensors_file(const std::string& path);
/// The same from the bytes of such a file; source names them in errors.
TensorFile parse_safetensors(const std::string& bytes, const std::string& source);
/// Writes tensors (dtypes as above, CPU) and metadata as .safetensors, through a temporary file and a
/// rename.
void write_safetensors(const std::string& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata = {});
/// The same bytes, handed to sink piece by piece (the header, then each tensor), with no copy of the
/// whole file in memory: run/checkpoint.h stages checkpoints through it.
void write_safetensors_to(const core::ByteSink& sink, const StateDict& tensors,
                          const std::map<std::string, std::string>& metadata = {});

}  // namespace mednet::models
