// engine/tta.h: the views are every subset of the trained flips, and the score is the mean of their
// probabilities, handed on as logits that give back that mean.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/engine/tta.h"
#include "mednet/metrics/metrics.h"
#include "support/errors.h"

using namespace mednet;
using mednet::testing::error_of;

TEST(Tta, ViewsAreEverySubsetOfTheTrainedFlipAxes) {
  std::vector<augment::TransformSpec> aug{
      {"rotate", 0.5, 10}, {"flip", 0.5, 0, {1}}, {"flip", 0.5, 0, {0, 1}}};
  const engine::FlipSets views = engine::tta_views("flips", aug);
  const engine::FlipSets expected{{}, {2}, {3}, {2, 3}};
  EXPECT_EQ(views, expected);
  EXPECT_TRUE(engine::tta_views("none", aug).empty());
  EXPECT_EQ(engine::tta_views("flips", {{"flip", 0.5, 0, {0, 1, 2}}}).size(), 8u);
}

namespace {
ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::Runtime;
}
}  // namespace

TEST(Tta, FlipsWithoutTrainedFlipsOrAnUnknownModeAreUsageErrors) {
  const auto no_flip = [] { engine::tta_views("flips", {{"rotate", 0.5, 10}}); };
  EXPECT_NE(error_of(no_flip).find("has no flip"), std::string::npos) << error_of(no_flip);
  EXPECT_EQ(kind_of(no_flip), ErrorKind::Usage);
  EXPECT_EQ(kind_of([] { engine::tta_views("rot90", {}); }), ErrorKind::Usage);
}

TEST(Tta, LogitsGiveBackTheMeanOfTheViewsProbabilities) {
  torch::manual_seed(0);
  const at::Tensor w = torch::randn({3, 16});
  // A model that sees where things are: flips change its answer.
  const auto forward = [&](const at::Tensor& x) { return torch::matmul(x.flatten(1), w.t()); };
  const at::Tensor x = torch::randn({5, 1, 4, 4});
  const engine::FlipSets views{{}, {3}};
  for (data::Task task : {data::Task::MultiClass, data::Task::MultiLabel}) {
    const at::Tensor expected = (metrics::probabilities(task, forward(x)) +
                                 metrics::probabilities(task, forward(torch::flip(x, {3})))) /
                                2;
    const at::Tensor got = metrics::probabilities(task, engine::view_logits(forward, x, task, views));
    EXPECT_TRUE(torch::allclose(got, expected, 1e-5, 1e-6));
    EXPECT_FALSE(torch::allclose(got, metrics::probabilities(task, forward(x)), 1e-5, 1e-6));
  }
  // no views: the plain logits
  EXPECT_TRUE(torch::equal(engine::view_logits(forward, x, data::Task::MultiClass, {}), forward(x)));
}
