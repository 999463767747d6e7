// torch.save files (zip): the archive, data.pkl through the pickle rewriter and the allow list, storages.
#include "fuzz_support.h"
#include "mednet/models/weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mednet::fuzz::as_file(data, size, ".pt");
  return mednet::fuzz::refuse_cleanly([&] { mednet::models::read_state_dict(path); });
}
