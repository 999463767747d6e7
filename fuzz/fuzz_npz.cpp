// .npz archives: the zip directory, stored and deflate entries, zip64 fields, then each array.
#include "fuzz_support.h"
#include "mednet/data/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mednet::fuzz::as_file(data, size, ".npz");
  return mednet::fuzz::refuse_cleanly([&] {
    mednet::data::NpzReader npz(path);
    for (const auto& key : npz.keys()) mednet::fuzz::refuse_cleanly([&] { npz.read(key); });
  });
}
