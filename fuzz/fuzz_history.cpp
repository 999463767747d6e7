// A run's history.csv.
#include "fuzz_support.h"
#include "mednet/run/history.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  return mednet::fuzz::refuse_cleanly([&] { mednet::run::parse_history_csv(text); });
}
