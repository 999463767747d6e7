#include "mednet/metrics/bootstrap.h"
#include "mednet/core/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/metrics/metrics.h"

namespace mn = mednet::metrics;
using mednet::data::Task;

namespace {

// Binary task, n rows: label i % 2, class-1 score increasing with i plus a label-dependent shift.
std::pair<at::Tensor, at::Tensor> binary_case(int64_t n, double shift, uint64_t seed) {
  torch::manual_seed(seed);
  at::Tensor y = torch::arange(n, torch::kLong).remainder(2).unsqueeze(1);
  at::Tensor p1 = (torch::rand({n}, torch::kDouble) + shift * y.squeeze(1).to(torch::kDouble)).clamp(0, 1);
  return {y, torch::stack({1 - p1, p1}, 1)};
}

}  // namespace

TEST(Bootstrap, QuantileInterpolatesLikeNumpy) {
  // numpy.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) = 1.075, 2.5, 3.925
  EXPECT_NEAR(mn::quantile({4, 1, 3, 2}, 0.025), 1.075, 1e-12);
  EXPECT_NEAR(mn::quantile({4, 1, 3, 2}, 0.5), 2.5, 1e-12);
  EXPECT_NEAR(mn::quantile({4, 1, 3, 2}, 0.975), 3.925, 1e-12);
  EXPECT_TRUE(std::isnan(mn::quantile({}, 0.5)));
}

TEST(Bootstrap, ResamplesAreSeededAndInRange) {
  mn::BootstrapOptions o;
  o.resamples = 50;
  o.seed = 7;
  const auto a = mn::resample_indices(13, o);
  const auto b = mn::resample_indices(13, o);
  EXPECT_EQ(a, b);
  o.seed = 8;
  EXPECT_NE(a, mn::resample_indices(13, o));
  ASSERT_EQ(a.size(), 50u);
  for (const auto& draw : a) {
    ASSERT_EQ(draw.size(), 13u);
    for (int64_t i : draw) EXPECT_TRUE(i >= 0 && i < 13);
  }
  o.resamples = 0;
  EXPECT_THROW(mn::resample_indices(13, o), mednet::Error);
}

TEST(Bootstrap, IntervalsHoldThePointEstimateAndNarrowWithMoreSamples) {
  auto [y, p] = binary_case(400, 0.3, 1);
  const mn::Scores s = mn::evaluate(Task::BinaryClass, y, p);
  const mn::ScoreIntervals ci = mn::bootstrap_scores(Task::BinaryClass, y, p);
  EXPECT_EQ(ci.resamples, 1000);
  EXPECT_EQ(ci.undefined_auc, 0);
  EXPECT_LT(ci.auc.lo, s.auc);
  EXPECT_GT(ci.auc.hi, s.auc);
  EXPECT_LT(ci.acc.lo, s.acc);
  EXPECT_GT(ci.acc.hi, s.acc);
  auto [y_small, p_small] = binary_case(50, 0.3, 1);
  const mn::ScoreIntervals wide = mn::bootstrap_scores(Task::BinaryClass, y_small, p_small);
  EXPECT_GT(wide.auc.hi - wide.auc.lo, 1.5 * (ci.auc.hi - ci.auc.lo));
  // The same seed gives the same interval.
  const mn::ScoreIntervals again = mn::bootstrap_scores(Task::BinaryClass, y, p);
  EXPECT_EQ(again.auc.lo, ci.auc.lo);
  EXPECT_EQ(again.acc.hi, ci.acc.hi);
}

TEST(Bootstrap, PerfectScoresGiveADegenerateInterval) {
  at::Tensor y = torch::tensor({0, 1, 0, 1, 1, 0}, torch::kLong).unsqueeze(1);
  at::Tensor p1 = y.squeeze(1).to(torch::kDouble) * 0.8 + 0.1;
  const mn::ScoreIntervals ci = mn::bootstrap_scores(Task::BinaryClass, y, torch::stack({1 - p1, p1}, 1));
  EXPECT_DOUBLE_EQ(ci.auc.lo, 1.0);
  EXPECT_DOUBLE_EQ(ci.auc.hi, 1.0);
  EXPECT_DOUBLE_EQ(ci.acc.lo, 1.0);
  // With 6 rows some resamples hold one class only: their AUC is undefined and left out, counted.
  EXPECT_GT(ci.undefined_auc, 0);
}

TEST(Bootstrap, PairedDifferenceOfAnArmWithItselfIsExactlyZero) {
  auto [y, p] = binary_case(200, 0.3, 2);
  const mn::PairedDifference d = mn::paired_bootstrap(Task::BinaryClass, y, {p}, {p});
  EXPECT_EQ(d.auc, 0.0);
  EXPECT_EQ(d.auc_ci.lo, 0.0);
  EXPECT_EQ(d.auc_ci.hi, 0.0);
  EXPECT_TRUE(d.auc_indistinguishable());
}

TEST(Bootstrap, PairedDifferenceSeparatesAClearlyBetterArm) {
  auto [y, good] = binary_case(300, 0.6, 3);
  auto [y2, weak] = binary_case(300, 0.05, 4);
  ASSERT_TRUE(torch::equal(y, y2));
  const mn::PairedDifference d = mn::paired_bootstrap(Task::BinaryClass, y, {good}, {weak});
  const double direct =
      mn::evaluate(Task::BinaryClass, y, good).auc - mn::evaluate(Task::BinaryClass, y, weak).auc;
  EXPECT_NEAR(d.auc, direct, 1e-12);
  EXPECT_GT(d.auc_ci.lo, 0.0);
  EXPECT_FALSE(d.auc_indistinguishable());
  // Arms of several runs compare their means; the reverse order flips the sign.
  const mn::PairedDifference r = mn::paired_bootstrap(Task::BinaryClass, y, {weak, weak}, {good});
  EXPECT_NEAR(r.auc, -direct, 1e-12);
  EXPECT_NEAR(r.auc_ci.hi, -d.auc_ci.lo, 1e-12);
  EXPECT_THROW(mn::paired_bootstrap(Task::BinaryClass, y, {good.narrow(0, 0, 10)}, {weak}), mednet::Error);
}

TEST(Bootstrap, FormatsIntervals) {
  EXPECT_EQ(mn::format_interval({-0.0114, 0.0431}, true), "-0.011 to +0.043");
  EXPECT_EQ(mn::format_interval({0.7, std::nan("")}), "0.700 to n/a");
}
