#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/run/config.h"
#include "mednet/train/schedule.h"

using namespace mednet::train;
using namespace mednet::run;

TEST(Schedule, StepDropsTenfoldAtHalfAndThreeQuarters) {
  EXPECT_DOUBLE_EQ(lr_at("step", 1e-3, 0, 100), 1e-3);
  EXPECT_DOUBLE_EQ(lr_at("step", 1e-3, 49, 100), 1e-3);
  EXPECT_NEAR(lr_at("step", 1e-3, 50, 100), 1e-4, 1e-15);
  EXPECT_NEAR(lr_at("step", 1e-3, 74, 100), 1e-4, 1e-15);
  EXPECT_NEAR(lr_at("step", 1e-3, 75, 100), 1e-5, 1e-15);
}

TEST(Schedule, CosineAndConstant) {
  EXPECT_DOUBLE_EQ(lr_at("cosine", 1.0, 0, 10), 1.0);
  EXPECT_NEAR(lr_at("cosine", 1.0, 5, 10), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(lr_at("constant", 0.3, 99, 100), 0.3);
  EXPECT_THROW(lr_at("linear", 1.0, 0, 10), mednet::Error);
}

TEST(Config, RoundTripsThroughJson) {
  TrainConfig c;
  c.dataset = "nodulemnist3d";
  c.model.widths = {8, 16};
  c.seed = 42;
  c.schedule = "cosine";
  const TrainConfig back = config_from_json(to_json(c));
  EXPECT_EQ(to_json(back), to_json(c));
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
}
