// .safetensors files: header length, JSON header, dtypes, shapes and byte ranges.
#include "fuzz_support.h"
#include "mednet/models/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mednet::fuzz::as_file(data, size, ".safetensors");
  return mednet::fuzz::refuse_cleanly([&] { mednet::models::read_safetensors_file(path); });
}
