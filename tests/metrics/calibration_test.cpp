// metrics/calibration: ECE, MCE, Brier and NLL by hand on a small case (the NumPy reference for every
// task is in tests/trust/trust_test.cpp, beside the temperature and the conformal sets it fits).
#include "mednet/metrics/calibration.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace mednet;
using namespace mednet::metrics;

TEST(Calibration, HandCheckedBinsBrierAndNll) {
  // Four images, two classes (multi-class): confidences 0.9, 0.9, 0.6, 0.6; right, wrong, right, right.
  const at::Tensor p = torch::tensor({{0.9, 0.1}, {0.9, 0.1}, {0.4, 0.6}, {0.6, 0.4}}, torch::kDouble);
  const at::Tensor y = torch::tensor({0, 1, 1, 0}, torch::kLong);
  const CalibrationScores c = calibration_scores(data::Task::MultiClass, y, p);
  // bin of 0.9: confidence 0.9, accuracy 0.5; bin of 0.6: confidence 0.6, accuracy 1.0
  EXPECT_NEAR(c.ece, 0.5 * 0.4 + 0.5 * 0.4, 1e-12);
  EXPECT_NEAR(c.mce, 0.4, 1e-12);
  EXPECT_NEAR(c.brier, (0.02 + 1.62 + 0.32 + 0.32) / 4, 1e-12);
  EXPECT_NEAR(c.nll, -(std::log(0.9) + std::log(0.1) + std::log(0.6) + std::log(0.6)) / 4, 1e-12);
  const auto bins = reliability_bins(data::Task::MultiClass, y, p);
  ASSERT_EQ(bins.size(), 15u);
  EXPECT_EQ(bins[13].count, 2);  // 0.9 is in (13/15, 14/15]
  EXPECT_NEAR(bins[13].accuracy, 0.5, 1e-12);
  EXPECT_EQ(bins[8].count, 2);  // 0.6 is in (8/15, 9/15]
}
