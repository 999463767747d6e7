// .npy bytes: header, dtype, shape and data, as data::parse_npy reads them.
#include "fuzz_support.h"
#include "mednet/data/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return mednet::fuzz::refuse_cleanly([&] { mednet::data::parse_npy(data, size, "fuzz.npy"); });
}
