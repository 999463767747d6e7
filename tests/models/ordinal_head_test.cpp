// models/ordinal_head: CORN around registry networks keeps their parameter names, gives K rank-consistent
// class probabilities, and trains, resumes and refuses export by name.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/models/cnn.h"
#include "mednet/models/ordinal_head.h"
#include "mednet/models/registry.h"
#include "mednet/models/weights.h"

using namespace mednet;

TEST(CornHead, WrapsAnyNetworkWithItsOwnParameterNames) {
  for (const std::string name : {"cnn", "resnet18"}) {
    models::ModelSpec plain;
    plain.name = name;
    models::ModelSpec corn = plain;
    corn.head = "corn";
    const data::InputShape five{3, 2, 28, 5};
    data::InputShape four = five;
    four.outputs = 4;
    torch::manual_seed(1);
    const models::Classifier inner = models::make_model(plain, four);
    torch::manual_seed(1);
    const models::Classifier wrapped = models::make_model(corn, five);
    EXPECT_EQ(wrapped->kind(), "corn-" + inner->kind());
    const auto a = models::state_dict(*inner);
    const auto b = models::state_dict(*wrapped);
    ASSERT_EQ(a.size(), b.size()) << name;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].first, b[i].first) << name;
      EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
    }
    EXPECT_EQ(wrapped->head_prefix(), inner->head_prefix());
    wrapped->eval();
    inner->eval();
    const at::Tensor x = torch::randn({6, 3, 28, 28});
    const at::Tensor log_p = wrapped->forward(x);
    ASSERT_EQ(log_p.sizes(), (std::vector<int64_t>{6, 5}));
    EXPECT_TRUE(torch::allclose(log_p, models::corn_log_probs(inner->forward(x)), 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(log_p.exp().sum(1), torch::ones({6}), 1e-5, 1e-6));
    // Rank consistency: P(grade > k) never rises with k.
    const at::Tensor above = 1 - torch::cumsum(log_p.exp(), 1);
    EXPECT_TRUE((above.narrow(1, 1, 4) <= above.narrow(1, 0, 4) + 1e-6).all().item<bool>());
    const std::string layer = wrapped->feature_layers().back();
    const auto [fmap, logits] = wrapped->forward_at(x, layer);
    EXPECT_TRUE(torch::allclose(logits, log_p, 1e-5, 1e-6));
    if (name == "cnn") EXPECT_TRUE(torch::allclose(wrapped->forward_from(fmap, layer), log_p, 1e-5, 1e-6));
  }
}

TEST(CornHead, TrainModeReachesTheWrappedNetwork) {
  models::ModelSpec corn;
  corn.head = "corn";
  const models::Classifier m = models::make_model(corn, data::InputShape{1, 2, 28, 5});
  auto* c = dynamic_cast<models::CornImpl*>(m.get());
  ASSERT_NE(c, nullptr);
  m->eval();
  EXPECT_FALSE(c->net()->is_training());
  m->train();
  EXPECT_TRUE(c->net()->is_training());
}

TEST(CornHead, ConversionIsExactOnAHandCase) {
  // l = 0: every step is a coin flip, so P = 1/2, 1/4, 1/8, 1/8.
  const at::Tensor p = models::corn_log_probs(torch::zeros({1, 3})).exp();
  EXPECT_NEAR(p[0][0].item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(p[0][1].item<double>(), 0.25, 1e-7);
  EXPECT_NEAR(p[0][2].item<double>(), 0.125, 1e-7);
  EXPECT_NEAR(p[0][3].item<double>(), 0.125, 1e-7);
  // Very sure logits stay finite in log space.
  const at::Tensor sure = models::corn_log_probs(torch::full({1, 4}, 200.0));
  EXPECT_TRUE(torch::isfinite(sure).all().item<bool>());
  EXPECT_NEAR(sure[0][4].item<double>(), 0.0, 1e-6);
}

TEST(CornHead, NeedsThreeOrMoreClassesAndAKnownHead) {
  models::ModelSpec corn;
  corn.head = "corn";
  EXPECT_THROW(models::make_model(corn, data::InputShape{1, 2, 28, 2}), Error);
  models::ModelSpec bad;
  bad.head = "coral";
  try {
    models::validate(bad);
    FAIL() << "an unknown head was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.head"), std::string::npos) << e.what();
  }
}
