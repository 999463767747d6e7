// Experiment files: JSON, arms, seeds and the configs they make.
#include "fuzz_support.h"
#include "mednet/core/json.h"
#include "mednet/experiments/experiment_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  return mednet::fuzz::refuse_cleanly(
      [&] { mednet::experiments::experiment_from_json(mednet::core::parse_json(text, "fuzz.json")); });
}
