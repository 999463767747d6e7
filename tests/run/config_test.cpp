// config.json: the TrainConfig written and read back, and bad files refused with the key named.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/run/config.h"

using namespace mednet::run;

TEST(Config, RoundTripsThroughJson) {
  TrainConfig c;
  c.dataset = "nodulemnist3d";
  c.model.widths = {8, 16};
  c.seed = 42;
  c.schedule = "cosine";
  c.precision = "bf16";
  const TrainConfig back = config_from_json(to_json(c));
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_EQ(back.precision, "bf16");
  EXPECT_EQ(config_from_json(nlohmann::json::object()).precision, "fp32");  // older config.json files
}

TEST(Config, UnknownKeysAndBadValuesAreUsageErrors) {
  try {
    config_from_json(nlohmann::json{{"epochz", 3}});
    FAIL();
  } catch (const mednet::Error& e) {
    EXPECT_EQ(e.kind(), mednet::ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("unknown key 'epochz'"), std::string::npos);
  }
  EXPECT_THROW(config_from_json(nlohmann::json{{"epochs", "ten"}}), mednet::Error);
  EXPECT_THROW(config_from_json(nlohmann::json{{"model", {{"width", 3}}}}), mednet::Error);
  TrainConfig c;
  c.epochs = 0;
  EXPECT_THROW(c.validate(), mednet::Error);
  c = TrainConfig();
  c.dataset = "nodulemnist3d";
  c.size = 128;
  EXPECT_THROW(c.validate(), mednet::Error);
  EXPECT_THROW(load_config("/nonexistent.json"), mednet::Error);
  c = TrainConfig();
  c.precision = "fp8";
  try {
    c.validate();
    FAIL();
  } catch (const mednet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("precision must be fp32, bf16 or fp16, got 'fp8'"),
              std::string::npos);
  }
}
