// The pickle of a torch.save file (data.pkl) on its own, past the zip's CRC-32 that stops most mutants of
// a whole .pt file: mednet's unpickler with storage records of 64 bytes under any key of digits.
#include <cctype>
#include <memory>

#include "fuzz_support.h"
#include "mednet/models/state_dict_pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto record = std::make_shared<const std::string>(64, '\x01');
  auto records = [](const std::string& key) {
    for (char c : key)
      if (!std::isdigit(static_cast<unsigned char>(c))) throw mednet::Error("no record " + key);
    return record;
  };
  return mednet::fuzz::refuse_cleanly([&] {
    mednet::models::unpickle_state_dict(reinterpret_cast<const char*>(data), size, records, "data.pkl");
  });
}
