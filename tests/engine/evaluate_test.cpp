// engine/: the loss by task, evaluation in batches, and predict.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/catalog.h"
#include "mednet/engine/evaluate.h"
#include "mednet/models/registry.h"

using namespace mednet;

TEST(Engine, PredictMatchesEvaluationAndRestoresTheMode) {
  torch::manual_seed(0);
  models::ModelSpec spec;
  spec.widths = {4, 8};
  spec.hidden = {8};
  models::Classifier m = models::make_model(spec, data::input_shape(data::find_dataset("retinamnist"), 28));
  data::SplitData split;
  split.images = torch::randint(0, 256, {10, 3, 28, 28}, torch::kLong).to(torch::kByte);
  split.labels = torch::randint(0, 5, {10, 1}, torch::kLong);
  m->train();
  const at::Tensor p = engine::predict(*m, split.images, data::Task::OrdinalRegression, torch::kCPU, 3);
  EXPECT_TRUE(m->is_training());
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{10, 5}));
  EXPECT_TRUE(torch::allclose(p.sum(1), torch::ones({10}), 1e-5, 1e-5));
  const engine::Evaluation e =
      engine::evaluate_model(*m, split, data::Task::OrdinalRegression, torch::kCPU, 4);
  EXPECT_TRUE(torch::allclose(e.probs, p, 1e-5, 1e-6));
  // The loss is the mean over samples, whatever the batch size.
  const engine::Evaluation e1 =
      engine::evaluate_model(*m, split, data::Task::OrdinalRegression, torch::kCPU, 1);
  EXPECT_NEAR(e.loss, e1.loss, 1e-6);
  EXPECT_THROW(engine::predict(*m, split.images, data::Task::OrdinalRegression, torch::kCPU, 0), Error);
}

TEST(Engine, TaskLossByTask) {
  const at::Tensor logits = torch::tensor({{2.0, 0.0}, {0.0, 1.0}});
  const at::Tensor cls = torch::tensor({{0}, {1}}, torch::kLong);
  const double ce = engine::task_loss(data::Task::MultiClass, logits, cls).item<double>();
  EXPECT_NEAR(ce, 0.5 * (std::log(1 + std::exp(-2.0)) + std::log(1 + std::exp(-1.0))), 1e-6);
  const at::Tensor multi = torch::tensor({{1, 0}, {0, 1}}, torch::kLong);
  const double bce = engine::task_loss(data::Task::MultiLabel, logits, multi).item<double>();
  const double expect =
      (std::log(1 + std::exp(-2.0)) + std::log(2.0) + std::log(2.0) + std::log(1 + std::exp(-1.0))) / 4;
  EXPECT_NEAR(bce, expect, 1e-6);
}

TEST(TaskLoss, CrossEntropyAndBce) {
  at::Tensor logits = torch::tensor({{0.0, 0.0}});
  EXPECT_NEAR(
      engine::task_loss(data::Task::BinaryClass, logits, torch::tensor({{1}}, torch::kLong)).item<double>(),
      std::log(2.0), 1e-6);
  EXPECT_NEAR(
      engine::task_loss(data::Task::MultiLabel, logits, torch::tensor({{1, 0}}, torch::kLong)).item<double>(),
      std::log(2.0), 1e-6);
}

TEST(TaskLoss, LabelSmoothingMovesTheTargetsTowardsUniform) {
  const at::Tensor logits = torch::tensor({{2.0, 0.0, -1.0}, {0.5, 1.0, 0.0}});
  const at::Tensor cls = torch::tensor({{0}, {1}}, torch::kLong);
  const double e = 0.1;
  const at::Tensor target = torch::tensor({{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}}) * (1 - e) + e / 3;
  const double want = -(target * torch::log_softmax(logits, 1)).sum(1).mean().item<double>();
  EXPECT_NEAR(engine::task_loss(data::Task::MultiClass, logits, cls, e).item<double>(), want, 1e-6);
  EXPECT_GT(engine::task_loss(data::Task::MultiClass, logits, cls, e).item<double>(),
            engine::task_loss(data::Task::MultiClass, logits, cls).item<double>());
  const at::Tensor multi = torch::tensor({{1, 0, 1}, {0, 1, 0}}, torch::kLong);
  const at::Tensor y = multi.to(torch::kDouble) * (1 - e) + e / 2;
  const double bce = torch::binary_cross_entropy_with_logits(logits.to(torch::kDouble), y).item<double>();
  EXPECT_NEAR(engine::task_loss(data::Task::MultiLabel, logits, multi, e).item<double>(), bce, 1e-6);
}

TEST(Engine, NonFiniteProbabilitiesAreAnErrorNotAScore) {
  const at::Tensor labels = torch::tensor({{0}, {1}, {1}, {0}}, torch::kLong);
  at::Tensor logits = torch::tensor({{2.0f, 0.0f}, {0.0f, 1.0f}, {0.5f, 0.2f}, {1.0f, -1.0f}});
  const auto of = [&](int64_t start, int64_t len) { return logits.narrow(0, start, len); };
  EXPECT_NO_THROW(engine::evaluate_batches(data::Task::MultiClass, labels, 3, of));
  logits[2][1] = NAN;  // one image's logits, as NaN weights would leave them
  try {
    engine::evaluate_batches(data::Task::MultiClass, labels, 3, of);
    ADD_FAILURE() << "NaN probabilities were scored";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not finite for 1 of 4 images (the first is row 2)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(engine::check_finite_probabilities(torch::tensor({{0.5f, INFINITY}})), Error);
  EXPECT_NO_THROW(engine::check_finite_probabilities(torch::tensor({{0.5, 0.5}})));
}
