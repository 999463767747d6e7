// Golden values worked out by hand (see the comments) for every task type of the official evaluator.
#include <cmath>
#include <random>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/metrics/metrics.h"

using namespace mednet::metrics;
using mednet::data::Task;

namespace {

at::Tensor L(std::vector<std::vector<int64_t>> rows) {
  std::vector<at::Tensor> t;
  for (auto& r : rows) t.push_back(torch::tensor(r, torch::kLong));
  return torch::stack(t);
}
at::Tensor P(std::vector<std::vector<double>> rows) {
  std::vector<at::Tensor> t;
  for (auto& r : rows) t.push_back(torch::tensor(r, torch::kDouble));
  return torch::stack(t);
}

TEST(RocAuc, ClassicExample) {
  // pos {0.35, 0.8} vs neg {0.1, 0.4}: 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 -> 3/4
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);
}

TEST(RocAuc, TiesCountHalf) {
  EXPECT_DOUBLE_EQ(roc_auc({0.5, 0.5}, {0, 1}), 0.5);
  // pos 0.6 vs neg {0.2, 0.6}: 1 + 0.5 -> 0.75
  EXPECT_DOUBLE_EQ(roc_auc({0.2, 0.6, 0.6}, {0, 0, 1}), 0.75);
}

TEST(RocAuc, UndefinedWhenOneClass) {
  EXPECT_TRUE(std::isnan(roc_auc({0.1, 0.9}, {1, 1})));
  EXPECT_TRUE(std::isnan(roc_auc({0.1, 0.9}, {0, 0})));
}

TEST(RocAuc, MatchesPairCountingOnRandomTiedData) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> score(0, 9), label(0, 1);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> s(50);
    std::vector<int> y(50);
    for (int i = 0; i < 50; ++i) s[i] = score(rng) / 10.0, y[i] = label(rng);
    double wins = 0, pairs = 0;
    for (int i = 0; i < 50; ++i)
      for (int j = 0; j < 50; ++j)
        if (y[i] == 1 && y[j] == 0) {
          pairs += 1;
          wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
        }
    EXPECT_NEAR(roc_auc(s, y), wins / pairs, 1e-12);
  }
}

TEST(Evaluate, BinaryUsesLastColumnAndStrictThreshold) {
  // class-1 scores 0.1 0.4 0.35 0.8 -> AUC 0.75; predictions (> 0.5) 0 0 0 1 vs 0 0 1 1 -> ACC 0.75
  const Scores s = evaluate(Task::BinaryClass, L({{0}, {0}, {1}, {1}}),
                            P({{0.9, 0.1}, {0.6, 0.4}, {0.65, 0.35}, {0.2, 0.8}}));
  EXPECT_DOUBLE_EQ(s.auc, 0.75);
  EXPECT_DOUBLE_EQ(s.acc, 0.75);
  EXPECT_TRUE(s.warnings.empty());
  // exactly 0.5 is not > 0.5: predicted 0, wrong for label 1
  EXPECT_DOUBLE_EQ(evaluate(Task::BinaryClass, L({{1}, {0}}), P({{0.5, 0.5}, {0.5, 0.5}})).acc, 0.5);
}

TEST(Evaluate, MultiClassMeanOfOneVsRest) {
  // class 0: targets 1 0 0 1, scores .7 .2 .1 .3 -> 1.0
  // class 1: targets 0 1 0 0, scores .2 .5 .6 .3 -> 2/3
  // class 2: targets 0 0 1 0, scores .1 .3 .3 .4 -> (1 + .5 + 0) / 3 = .5
  // AUC = (1 + 2/3 + .5) / 3; argmax 0 1 1 2 vs 0 1 2 0 -> ACC .5
  const auto labels = L({{0}, {1}, {2}, {0}});
  const auto probs = P({{.7, .2, .1}, {.2, .5, .3}, {.1, .6, .3}, {.3, .3, .4}});
  for (Task t : {Task::MultiClass, Task::OrdinalRegression}) {
    const Scores s = evaluate(t, labels, probs);
    EXPECT_NEAR(s.auc, (1.0 + 2.0 / 3.0 + 0.5) / 3.0, 1e-12);
    EXPECT_DOUBLE_EQ(s.acc, 0.5);
  }
}

TEST(Evaluate, MultiLabelMeansOverLabels) {
  // label 0: targets 1 0 1 0, scores .9 .4 .6 .2 -> AUC 1, ACC 1
  // label 1: targets 0 1 1 0, scores .2 .6 .4 .7 -> AUC 2/4, predictions 0 1 0 1 -> ACC .5
  const Scores s = evaluate(Task::MultiLabel, L({{1, 0}, {0, 1}, {1, 1}, {0, 0}}),
                            P({{.9, .2}, {.4, .6}, {.6, .4}, {.2, .7}}));
  EXPECT_DOUBLE_EQ(s.auc, 0.75);
  EXPECT_DOUBLE_EQ(s.acc, 0.75);
}

TEST(Evaluate, AbsentClassMakesAucUndefinedWithAWarning) {
  const Scores b = evaluate(Task::BinaryClass, L({{0}, {0}}), P({{.9, .1}, {.2, .8}}));
  EXPECT_TRUE(std::isnan(b.auc));
  EXPECT_DOUBLE_EQ(b.acc, 0.5);
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_NE(b.warnings[0].find("class 1"), std::string::npos);

  const Scores m = evaluate(Task::MultiClass, L({{0}, {1}}), P({{.5, .3, .2}, {.2, .5, .3}}));
  EXPECT_TRUE(std::isnan(m.auc));
  ASSERT_EQ(m.warnings.size(), 1u);
  EXPECT_NE(m.warnings[0].find("class 2"), std::string::npos);
}

TEST(Accumulator, BatchesEqualOneShot) {
  const auto labels = L({{0}, {1}, {2}, {0}});
  const auto probs = P({{.7, .2, .1}, {.2, .5, .3}, {.1, .6, .3}, {.3, .3, .4}});
  Accumulator acc(Task::MultiClass);
  acc.update(labels.narrow(0, 0, 3), probs.narrow(0, 0, 3));
  acc.update(labels.narrow(0, 3, 1), probs.narrow(0, 3, 1));
  EXPECT_EQ(acc.count(), 4);
  const Scores s = acc.compute();
  const Scores ref = evaluate(Task::MultiClass, labels, probs);
  EXPECT_NEAR(s.auc, ref.auc, 1e-7);
  EXPECT_DOUBLE_EQ(s.acc, ref.acc);
  acc.reset();
  EXPECT_EQ(acc.count(), 0);
}

TEST(Probabilities, SoftmaxOrSigmoidByTask) {
  at::Tensor logits = torch::tensor({{0.0, 0.0}});
  EXPECT_NEAR(probabilities(Task::BinaryClass, logits)[0][1].item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(probabilities(Task::MultiLabel, torch::tensor({{2.0}}))[0][0].item<double>(),
              1 / (1 + std::exp(-2.0)), 1e-6);
}

}  // namespace
