// A run's state.json: history rows, best epoch, checkpoint digests.
#include "fuzz_support.h"
#include "mednet/core/json.h"
#include "mednet/run/state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  return mednet::fuzz::refuse_cleanly(
      [&] { mednet::run::parse_state(mednet::core::parse_json(text, "state.json", true), "state.json"); });
}
