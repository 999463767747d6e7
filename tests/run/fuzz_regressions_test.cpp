// Inputs that once made a run-folder reader misbehave under the fuzzer (make fuzz), kept as regression
// tests: each must now be refused with a clear error naming the file.
#include <filesystem>

#include <gtest/gtest.h>

#include "mednet/core/json.h"
#include "mednet/run/history.h"
#include "mednet/run/state.h"
#include "support/errors.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
using mednet::testing::error_of;

namespace {
std::vector<std::string> regression_inputs(const std::string& harness) {
  std::vector<std::string> out;
  for (const auto& e :
       fs::directory_iterator(std::string(MEDNET_SOURCE_DIR) + "/tests/run/fuzz_regressions/" + harness))
    out.push_back(e.path().string());
  return out;
}
}  // namespace

TEST(FuzzRegressions, StateJsonWithAnEpochNoIntHoldsIsDamaged) {
  const auto files = regression_inputs("state");
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    const std::string what = error_of([&] {
      mednet::run::parse_state(mednet::core::parse_json(mednet::testing::read_file(f), "state.json", true),
                               "state.json");
    });
    EXPECT_NE(what.find("state.json is damaged"), std::string::npos) << f << ": " << what;
  }
}

TEST(FuzzRegressions, HistoryCsvWithAnEpochNoIntHoldsIsRefused) {
  const auto files = regression_inputs("history");
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    const std::string what = error_of([&] { mednet::run::parse_history_csv(mednet::testing::read_file(f)); });
    EXPECT_NE(what.find("is not a whole number from 1 to 100000"), std::string::npos) << f << ": " << what;
  }
}
