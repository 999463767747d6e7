// Config files: JSON (depth, repeated keys) and every key's type and range.
#include "fuzz_support.h"
#include "mednet/core/json.h"
#include "mednet/run/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  return mednet::fuzz::refuse_cleanly([&] {
    const mednet::run::TrainConfig c =
        mednet::run::config_from_json(mednet::core::parse_json(text, "fuzz.json"));
    c.validate();
  });
}
