// The 95% Student-t interval against SciPy (scipy.stats.t.ppf(0.975, df) and the interval computed with
// NumPy's ddof=1 standard deviation, numbers written here).
#include "mednet/metrics/t_interval.h"

#include <cmath>

#include <gtest/gtest.h>

using namespace mednet::metrics;

namespace {

TEST(StudentT, MatchesScipyQuantiles) {
  const std::pair<int, double> scipy[] = {
      {1, 12.706204736432095},  {2, 4.302652729911275},    {5, 2.5705818366147395},  {10, 2.2281388519649385},
      {11, 2.200985160082949},  {15, 2.131449545559323},   {20, 2.0859634472658364}, {30, 2.0422724563012373},
      {60, 2.0002978210582616}, {1000, 1.9623390808264074}};
  for (const auto& [df, t] : scipy) EXPECT_NEAR(student_t_975(df), t, 2e-4) << "df " << df;
  EXPECT_TRUE(std::isnan(student_t_975(0)));
}

TEST(TInterval, MatchesScipyIntervals) {
  const MeanInterval a = t_interval_95({0.01, -0.02, 0.005});
  EXPECT_NEAR(a.mean, -0.0016666666666666668, 1e-12);
  EXPECT_NEAR(a.low, -0.041593594225388844, 1e-8);
  EXPECT_NEAR(a.high, 0.03826026089205552, 1e-8);
  EXPECT_FALSE(a.excludes_zero());
  const MeanInterval b = t_interval_95({0.03, 0.02, 0.025, 0.04});
  EXPECT_NEAR(b.low, 0.015162345581017556, 1e-8);
  EXPECT_NEAR(b.high, 0.042337654418982455, 1e-8);
  EXPECT_TRUE(b.excludes_zero());
  std::vector<double> fifteen;
  for (int i = 0; i < 15; ++i) fifteen.push_back(-1 + 3.0 * i / 14);
  const MeanInterval c = t_interval_95(fifteen);
  EXPECT_NEAR(c.low, -0.03069707355278445, 1e-4);
  EXPECT_NEAR(c.high, 1.0306970735527843, 1e-4);
  const MeanInterval one = t_interval_95({0.5});
  EXPECT_EQ(one.mean, 0.5);
  EXPECT_TRUE(std::isnan(one.low));
  EXPECT_FALSE(one.excludes_zero());
  EXPECT_THROW(t_interval_95({}), std::exception);
}

}  // namespace
