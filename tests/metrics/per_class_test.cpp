#include "mednet/metrics/per_class.h"
#include "mednet/core/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/metrics/metrics.h"

namespace mn = mednet::metrics;
using mednet::data::Task;

namespace {
double trapezoid(const mn::RocCurve& r) {
  double a = 0;
  for (size_t i = 1; i < r.fpr.size(); ++i) a += (r.fpr[i] - r.fpr[i - 1]) * (r.tpr[i] + r.tpr[i - 1]) / 2;
  return a;
}
}  // namespace

TEST(PerClass, AucOfEachClassAveragesToTheMedmnistAuc) {
  torch::manual_seed(0);
  at::Tensor y = torch::tensor({0, 1, 2, 0, 1, 2, 2, 1, 0, 2}, torch::kLong).unsqueeze(1);
  at::Tensor p = torch::softmax(torch::randn({10, 3}, torch::kDouble), 1);
  const std::vector<double> pc = mn::per_class_auc(Task::MultiClass, y, p);
  ASSERT_EQ(pc.size(), 3u);
  EXPECT_NEAR((pc[0] + pc[1] + pc[2]) / 3, mn::evaluate(Task::MultiClass, y, p).auc, 1e-12);
  // Binary: one value, the AUC of class 1.
  at::Tensor yb = torch::tensor({0, 1, 1, 0}, torch::kLong).unsqueeze(1);
  at::Tensor pb = torch::tensor({{0.9, 0.1}, {0.2, 0.8}, {0.6, 0.4}, {0.3, 0.7}}, torch::kDouble);
  const std::vector<double> b = mn::per_class_auc(Task::BinaryClass, yb, pb);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_DOUBLE_EQ(b[0], 0.75);
}

TEST(PerClass, ConfusionMatrixFollowsTheEvaluatorsRule) {
  at::Tensor y = torch::tensor({0, 1, 1, 0, 1}, torch::kLong).unsqueeze(1);
  // Binary: class 1 when its score is above 0.5 (0.5 itself is class 0).
  at::Tensor p1 = torch::tensor({0.2, 0.9, 0.5, 0.7, 0.6}, torch::kDouble);
  const auto m = mn::confusion_matrix(Task::BinaryClass, y, torch::stack({1 - p1, p1}, 1));
  EXPECT_EQ(m, (std::vector<std::vector<int64_t>>{{1, 1}, {1, 2}}));
  at::Tensor yc = torch::tensor({2, 0, 1}, torch::kLong).unsqueeze(1);
  at::Tensor pc = torch::tensor({{0.1, 0.2, 0.7}, {0.5, 0.4, 0.1}, {0.6, 0.3, 0.1}}, torch::kDouble);
  EXPECT_EQ(mn::confusion_matrix(Task::OrdinalRegression, yc, pc),
            (std::vector<std::vector<int64_t>>{{1, 0, 0}, {1, 0, 0}, {0, 0, 1}}));
  EXPECT_TRUE(mn::confusion_matrix(Task::MultiLabel, torch::zeros({3, 3}, torch::kLong), pc).empty());
  EXPECT_THROW(mn::confusion_matrix(Task::OrdinalRegression, torch::tensor({{3}, {0}, {1}}), pc),
               mednet::Error);
}

TEST(PerClass, RocCurveHasOnePointPerThresholdAndItsAreaIsTheAuc) {
  const std::vector<double> s{0.1, 0.4, 0.35, 0.8, 0.4};
  const std::vector<int> t{0, 0, 1, 1, 1};
  const mn::RocCurve r = mn::roc_curve(s, t);
  // Thresholds 0.8, 0.4 (a tie of one positive and one negative), 0.35, 0.1, after (0, 0).
  EXPECT_EQ(r.fpr, (std::vector<double>{0, 0, 0.5, 0.5, 1}));
  ASSERT_EQ(r.tpr.size(), 5u);
  EXPECT_NEAR(r.tpr[2], 2.0 / 3, 1e-12);
  EXPECT_NEAR(trapezoid(r), mn::roc_auc(s, t), 1e-12);
  EXPECT_TRUE(mn::roc_curve({0.2, 0.3}, {1, 1}).fpr.empty());
}

TEST(PerClass, RocCurvesAreThinnedKeepingBothEnds) {
  torch::manual_seed(1);
  const int64_t n = 1000;
  at::Tensor y = torch::arange(n, torch::kLong).remainder(2).unsqueeze(1);
  at::Tensor p1 = torch::rand({n}, torch::kDouble);
  const auto curves = mn::roc_curves(Task::BinaryClass, y, torch::stack({1 - p1, p1}, 1), 50);
  ASSERT_EQ(curves.size(), 1u);
  EXPECT_EQ(curves[0].name, "class 1");
  ASSERT_EQ(curves[0].fpr.size(), 50u);
  EXPECT_EQ(curves[0].fpr.front(), 0.0);
  EXPECT_EQ(curves[0].fpr.back(), 1.0);
  EXPECT_EQ(curves[0].tpr.back(), 1.0);
}

// MedMNIST-C's balanced error (1 - scikit-learn's balanced_accuracy_score), worked by hand.
TEST(BalancedError, IsOneMinusTheMeanRecallOfThePresentClasses) {
  using mednet::data::Task;
  // multi-class: predictions 0,1,1,1,0 for truths 0,0,1,1,2 -> recalls 1/2, 2/2, 0/1; class 3 absent
  const at::Tensor y = torch::tensor({0, 0, 1, 1, 2}, torch::kLong).view({5, 1});
  at::Tensor p = torch::full({5, 4}, 0.1, torch::kDouble);
  for (int64_t i : {0, 4}) p[i][0] = 0.7;
  for (int64_t i : {1, 2, 3}) p[i][1] = 0.7;
  EXPECT_NEAR(mednet::metrics::balanced_error(Task::MultiClass, y, p), 1.0 - 0.5, 1e-12);
  // binary: the last column above 0.5 -> truths 0,0,0,1 predicted 0,1,0,1: recalls 2/3, 1/1
  const at::Tensor yb = torch::tensor({0, 0, 0, 1}, torch::kLong).view({4, 1});
  const at::Tensor pb1 = torch::tensor({0.2, 0.6, 0.5, 0.9}, torch::kDouble);
  const at::Tensor pb = torch::stack({1 - pb1, pb1}, 1);
  EXPECT_NEAR(mednet::metrics::balanced_error(Task::BinaryClass, yb, pb), 1.0 - (2.0 / 3 + 1) / 2, 1e-12);
  // multi-label: label 0 as the binary case, label 1 all correct
  const at::Tensor yl = torch::stack({yb.view({4}), torch::tensor({1, 0, 1, 0}, torch::kLong)}, 1);
  const at::Tensor pl = torch::stack({pb1, torch::tensor({0.8, 0.1, 0.7, 0.4}, torch::kDouble)}, 1);
  EXPECT_NEAR(mednet::metrics::balanced_error(Task::MultiLabel, yl, pl), (1.0 / 6 + 0) / 2, 1e-12);
}
