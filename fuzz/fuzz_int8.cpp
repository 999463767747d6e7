// int8 model files: safetensors plus mednet's layer description, checked before a layer runs; a model
// that reads is run once on a small input.
#include <torch/torch.h>

#include "fuzz_support.h"
#include "mednet/quant/int8_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mednet::fuzz::as_file(data, size, ".safetensors");
  return mednet::fuzz::refuse_cleanly([&] {
    const mednet::quant::Int8Net net = mednet::quant::read_int8_file(path);
    net.forward(torch::zeros({1, 3, 28, 28}));
  });
}
