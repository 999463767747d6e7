#include <cmath>

#include <gtest/gtest.h>

#include "mednet/core/error.h"
#include "mednet/train/schedule.h"

using namespace mednet::train;

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

TEST(Schedule, WarmUpRisesLinearlyThenTheScheduleRunsOverTheRest) {
  EXPECT_DOUBLE_EQ(lr_at("cosine", 1.0, 0, 10, 2), 0.5);
  EXPECT_DOUBLE_EQ(lr_at("cosine", 1.0, 1, 10, 2), 1.0);
  EXPECT_DOUBLE_EQ(lr_at("cosine", 1.0, 2, 10, 2), 1.0);    // the cosine's first epoch
  EXPECT_NEAR(lr_at("cosine", 1.0, 6, 10, 2), 0.5, 1e-12);  // half of the 8 after warm-up
  EXPECT_NEAR(lr_at("step", 1e-3, 6, 10, 2), 1e-4, 1e-15);  // 50% of the 8 epochs left
  EXPECT_DOUBLE_EQ(lr_at("cosine", 1.0, 3, 10, 0), lr_at("cosine", 1.0, 3, 10));
}
