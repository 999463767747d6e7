// engine/train_loss and models/ordinal_head: the training losses (class weights, SORD soft labels,
// distillation) and CORN's class probabilities and loss, checked by hand on small cases and against
// PyTorch and NumPy (tests/scripts/ordinal_reference.py) on random batches.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/data/npy.h"
#include "mednet/engine/evaluate.h"
#include "mednet/engine/train_loss.h"
#include "mednet/models/ordinal_head.h"
#include "support/fixtures.h"

using namespace mednet;
using data::Task;

namespace {

struct Batch {
  at::Tensor logits, labels, teacher, corn_logits;
};

// 64 rows of 5 grades, every grade present (grade 0 the most frequent, as in RetinaMNIST).
Batch random_batch() {
  torch::manual_seed(11);
  Batch b;
  b.logits = torch::randn({64, 5}, torch::kDouble) * 2;
  std::vector<int64_t> y;
  for (int64_t i = 0; i < 64; ++i) y.push_back(i < 28 ? 0 : 1 + (i % 4));
  b.labels = torch::tensor(y, torch::kLong).reshape({64, 1});
  b.teacher = torch::softmax(torch::randn({64, 5}, torch::kDouble), 1);
  b.corn_logits = torch::randn({64, 4}, torch::kDouble) * 2;
  return b;
}

double value(const at::Tensor& t) {
  return t.item<double>();
}

}  // namespace

TEST(TrainLoss, AgreesWithPyTorchAndNumpy) {
  const std::string dir = mednet::testing::temp_dir("train_loss_ref");
  const Batch b = random_batch();
  data::save_npy(dir + "/z.npy", b.logits.to(torch::kFloat));
  data::save_npy(dir + "/y.npy", b.labels);
  data::save_npy(dir + "/t.npy", b.teacher.to(torch::kFloat));
  data::save_npy(dir + "/c.npy", b.corn_logits.to(torch::kFloat));
  const auto [rc, out] = mednet::testing::run_command(
      "/usr/bin/python3 " MEDNET_SOURCE_DIR "/tests/scripts/ordinal_reference.py " + dir + "/z.npy " + dir +
      "/y.npy " + dir + "/t.npy " + dir + "/c.npy 0.1 1.5 4");
  if (rc != 0 && out.find("No module named") != std::string::npos)
    GTEST_SKIP() << "SKIPPED: python3-numpy or python3-torch is not installed: " << out;
  ASSERT_EQ(rc, 0) << out;
  const auto ref = nlohmann::json::parse(out.substr(out.find('{')));
  // What the C++ side reads: the same float32 values the script read.
  const at::Tensor z = b.logits.to(torch::kFloat);
  const at::Tensor t = b.teacher.to(torch::kFloat);
  const at::Tensor c = b.corn_logits.to(torch::kFloat);

  const at::Tensor w = engine::class_balance_weights(b.labels, 5);
  const auto ref_w = ref["weights"].get<std::vector<double>>();
  ASSERT_EQ(w.numel(), 5);
  for (int64_t k = 0; k < 5; ++k) EXPECT_NEAR(w[k].item<double>(), ref_w[static_cast<size_t>(k)], 1e-6);
  EXPECT_LT(w[0].item<double>(), 1.0);  // the frequent grade counts less

  engine::LossOptions plain;
  EXPECT_NEAR(value(engine::training_loss(Task::OrdinalRegression, z, b.labels, plain)), ref["ce"], 1e-5);
  EXPECT_NEAR(value(engine::training_loss(Task::OrdinalRegression, z, b.labels, plain)),
              value(engine::task_loss(Task::OrdinalRegression, z, b.labels)), 1e-7);

  engine::LossOptions weighted;
  weighted.class_weights = w;
  weighted.smoothing = 0.1;
  EXPECT_NEAR(value(engine::training_loss(Task::OrdinalRegression, z, b.labels, weighted)),
              ref["ce_weighted_smoothed"], 1e-5);

  engine::LossOptions sord;
  sord.soft_ordinal = 1.5;
  EXPECT_NEAR(value(engine::training_loss(Task::OrdinalRegression, z, b.labels, sord)), ref["sord"], 1e-5);
  const at::Tensor q = engine::soft_ordinal_targets(b.labels, 5, 1.5);
  const auto q0 = ref["sord_targets_row0"].get<std::vector<double>>();
  for (int64_t k = 0; k < 5; ++k) EXPECT_NEAR(q[0][k].item<double>(), q0[static_cast<size_t>(k)], 1e-6);
  sord.class_weights = w;
  EXPECT_NEAR(value(engine::training_loss(Task::OrdinalRegression, z, b.labels, sord)), ref["sord_weighted"],
              1e-5);

  EXPECT_NEAR(value(engine::distill_loss(Task::OrdinalRegression, z, t, 4.0)), ref["distill"], 1e-5);

  // CORN: class probabilities as coral-pytorch computes them, and its loss.
  const at::Tensor log_p = models::corn_log_probs(c);
  const auto ref_p = ref["corn_probs"].get<std::vector<std::vector<double>>>();
  ASSERT_EQ(log_p.sizes(), (std::vector<int64_t>{64, 5}));
  for (int64_t i = 0; i < 64; ++i)
    for (int64_t k = 0; k < 5; ++k)
      EXPECT_NEAR(std::exp(log_p[i][k].item<double>()), ref_p[static_cast<size_t>(i)][static_cast<size_t>(k)],
                  1e-6);
  // -log p_y summed over rows is CORN's loss before its division by the number of (row, task) pairs.
  const double nll_sum = value(engine::task_loss(Task::OrdinalRegression, log_p, b.labels)) * 64;
  EXPECT_NEAR(nll_sum, ref["corn_loss_sum"].get<double>(), 1e-3);
  EXPECT_GT(ref["corn_loss_sum"].get<double>(), ref["corn_loss"].get<double>());
}

TEST(TrainLoss, SoftOrdinalTargetsSpreadToNeighbouringGrades) {
  const at::Tensor q = engine::soft_ordinal_targets(torch::tensor({2}, torch::kLong), 5, 1.0);
  EXPECT_NEAR(q.sum().item<double>(), 1.0, 1e-6);
  EXPECT_GT(q[0][2].item<double>(), q[0][1].item<double>());
  EXPECT_NEAR(q[0][1].item<double>(), q[0][3].item<double>(), 1e-7);  // symmetric
  EXPECT_GT(q[0][1].item<double>(), q[0][0].item<double>());          // nearer grades get more
  EXPECT_NEAR(q[0][1].item<double>() / q[0][2].item<double>(), std::exp(-1.0), 1e-6);
  // Putting probability on a far grade costs more than on a near one.
  engine::LossOptions o;
  o.soft_ordinal = 1.0;
  const at::Tensor y = torch::tensor({{0}}, torch::kLong);
  const at::Tensor near = torch::tensor({{2.0f, 1.5f, 0.0f, 0.0f, 0.0f}});
  const at::Tensor far = torch::tensor({{2.0f, 0.0f, 0.0f, 0.0f, 1.5f}});
  EXPECT_LT(value(engine::training_loss(Task::OrdinalRegression, near, y, o)),
            value(engine::training_loss(Task::OrdinalRegression, far, y, o)));
  // Plain cross-entropy cannot tell the two apart.
  EXPECT_NEAR(value(engine::task_loss(Task::OrdinalRegression, near, y)),
              value(engine::task_loss(Task::OrdinalRegression, far, y)), 1e-6);
}

TEST(TrainLoss, BalancedSamplingWeightsAndErrors) {
  const at::Tensor y = torch::tensor({0, 0, 0, 1}, torch::kLong);
  const std::vector<double> w = engine::balanced_row_weights(y, 2);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_DOUBLE_EQ(w[0] * 3, w[3]);  // each class sums to the same share
  EXPECT_NEAR(engine::class_balance_weights(y, 2)[1].item<double>(), 2.0, 1e-6);  // 4 / (2 x 1)
  EXPECT_THROW(engine::class_balance_weights(y, 3), Error);                       // class 2 has no row
  EXPECT_THROW(engine::balanced_row_weights(torch::tensor({0, 5}, torch::kLong), 2), Error);
  engine::LossOptions o;
  o.class_weights = engine::class_balance_weights(y, 2);
  EXPECT_THROW(
      engine::training_loss(Task::MultiLabel, torch::zeros({4, 2}), torch::zeros({4, 2}, torch::kLong), o),
      Error);
}

TEST(TrainLoss, DistillationIsZeroWhenTheStudentMatchesTheTeachers) {
  const at::Tensor z = torch::randn({8, 5});
  const at::Tensor p = engine::tempered_probabilities(Task::MultiClass, z, 3.0);
  EXPECT_NEAR(value(engine::distill_loss(Task::MultiClass, z, p, 3.0)), 0.0, 1e-6);
  EXPECT_GT(value(engine::distill_loss(Task::MultiClass, z, torch::softmax(torch::randn({8, 5}), 1), 3.0)),
            1e-3);
  const at::Tensor zl = torch::randn({8, 3});
  EXPECT_NEAR(value(engine::distill_loss(Task::MultiLabel, zl, torch::sigmoid(zl / 2), 2.0)), 0.0, 1e-6);
  EXPECT_THROW(engine::distill_loss(Task::MultiClass, z, p, 0.0), Error);
}
