#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/augment/augment.h"
#include "mednet/core/error.h"

using namespace mednet;
using augment::TransformSpec;
using nlohmann::json;

namespace {

TransformSpec spec(const std::string& text) {
  return augment::transform_from_json(json::parse(text));
}

std::vector<TransformSpec> every_kind(double p) {
  std::vector<TransformSpec> t;
  for (const char* s :
       {R"({"type": "rotate", "degrees": 30})", R"({"type": "flip", "axes": [0, 1]})",
        R"({"type": "scale", "min": 0.8, "max": 1.2})", R"({"type": "translate", "fraction": 0.1})",
        R"({"type": "brightness", "delta": 0.2})", R"({"type": "contrast", "delta": 0.3})",
        R"({"type": "noise", "std": 0.1})"}) {
    t.push_back(spec(s));
    t.back().p = p;
  }
  return t;
}

at::Tensor batch(std::vector<int64_t> shape, uint64_t seed = 7) {
  torch::manual_seed(seed);
  return torch::rand(shape);
}

TEST(Augment, ProbabilityZeroIsTheIdentity) {
  for (auto shape : {std::vector<int64_t>{5, 3, 28, 28}, std::vector<int64_t>{3, 1, 12, 12, 12}}) {
    const at::Tensor x = batch(shape);
    auto t = every_kind(0.0);
    if (shape.size() == 5) t[1].axes = {0, 1, 2};
    EXPECT_TRUE(torch::equal(augment::apply(t, x, 123), x));
  }
}

TEST(Augment, EmptyListReturnsTheInput) {
  const at::Tensor x = batch({2, 1, 8, 8});
  EXPECT_TRUE(torch::equal(augment::apply({}, x, 1), x));
}

TEST(Augment, DeterministicUnderTheSeed) {
  const at::Tensor x = batch({8, 3, 28, 28});
  const auto t = every_kind(0.7);
  const at::Tensor a = augment::apply(t, x, 42);
  const at::Tensor b = augment::apply(t, x, 42);
  const at::Tensor c = augment::apply(t, x, 43);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  EXPECT_FALSE(torch::equal(a, x));
}

TEST(Augment, KeepsTheValueRangeAndShape) {
  for (auto shape : {std::vector<int64_t>{16, 3, 28, 28}, std::vector<int64_t>{4, 1, 16, 16, 16}}) {
    const at::Tensor x = batch(shape);
    auto t = every_kind(1.0);
    t[4].delta = 1.0;  // brightness up to +-1
    t[6].std = 0.5;
    if (shape.size() == 5) t[1].axes = {0, 1, 2};
    const at::Tensor y = augment::apply(t, x, 5);
    EXPECT_EQ(y.sizes(), x.sizes());
    EXPECT_GE(y.min().item<float>(), 0.0f);
    EXPECT_LE(y.max().item<float>(), 1.0f);
    EXPECT_FALSE(torch::isnan(y).any().item<bool>());
  }
}

TEST(Augment, FlipMatchesTorchFlipPerSampleSoLabelsStayAligned) {
  // p = 1 on one axis: sample i must come back as sample i flipped, in the same batch position.
  for (int dims : {2, 3}) {
    std::vector<int64_t> shape{6, 2};
    for (int k = 0; k < dims; ++k) shape.push_back(10 + k);
    const at::Tensor x = batch(shape);
    for (int axis = 0; axis < dims; ++axis) {
      TransformSpec f = spec(R"({"type": "flip", "p": 1.0, "axes": [)" + std::to_string(axis) + "]}");
      const at::Tensor y = augment::apply({f}, x, 9);
      EXPECT_TRUE(torch::allclose(y, torch::flip(x, {2 + axis}), 0, 1e-5))
          << dims << "D axis " << axis << " max diff "
          << (y - torch::flip(x, {2 + axis})).abs().max().item<float>();
    }
  }
}

TEST(Augment, RotationTurnsABarButLeavesADiscAlone) {
  const int64_t s = 33;
  at::Tensor yy = torch::arange(s).view({s, 1}).expand({s, s}).to(torch::kFloat) - 16;
  at::Tensor xx = torch::arange(s).view({1, s}).expand({s, s}).to(torch::kFloat) - 16;
  at::Tensor disc = ((xx * xx + yy * yy) < 100).to(torch::kFloat).view({1, 1, s, s});
  at::Tensor bar = ((xx.abs() < 2) & (yy.abs() < 14)).to(torch::kFloat).view({1, 1, s, s});
  TransformSpec r = spec(R"({"type": "rotate", "degrees": 90, "p": 1.0})");
  // find a seed whose angle is large (> 45 degrees): the bar's vertical profile must change
  const at::Tensor d = augment::apply({r}, disc, 11);
  EXPECT_LT((d - disc).abs().mean().item<float>(), 0.03f);
  EXPECT_NEAR(d.sum().item<float>(), disc.sum().item<float>(), 0.05f * disc.sum().item<float>());
  const at::Tensor b = augment::apply({r}, bar, 11);
  EXPECT_GT((b - bar).abs().sum().item<float>(), 10.0f);
}

TEST(Augment, ZoomInEnlargesTheCentre) {
  // A centred square grows under a zoom of exactly 2 (min = max).
  at::Tensor x = torch::zeros({1, 1, 32, 32});
  x.slice(2, 12, 20).slice(3, 12, 20).fill_(1);
  const at::Tensor y = augment::apply({spec(R"({"type": "scale", "min": 2, "max": 2, "p": 1})")}, x, 3);
  EXPECT_NEAR(y.sum().item<float>(), 4 * x.sum().item<float>(), 0.1f * 4 * x.sum().item<float>());
}

TEST(Augment, BadSpecsAreUsageErrors) {
  auto usage = [](const std::string& text) {
    try {
      spec(text);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage) << text;
      return std::string(e.what());
    }
    ADD_FAILURE() << "accepted: " << text;
    return std::string();
  };
  EXPECT_NE(usage(R"({"type": "shear"})").find("valid: rotate"), std::string::npos);
  EXPECT_NE(usage(R"({"type": "rotate", "angle": 5})").find("unknown key 'angle'"), std::string::npos);
  EXPECT_NE(usage(R"({"type": "rotate", "degrees": 5, "p": 1.5})").find("p must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(usage(R"({"type": "flip"})").find("axes"), std::string::npos);
  EXPECT_NE(usage(R"({"type": "scale", "min": 1.2, "max": 0.8})").find("min <= max"), std::string::npos);
  EXPECT_NE(usage(R"({"degrees": 5})").find("\"type\""), std::string::npos);
  EXPECT_THROW(augment::validate({spec(R"({"type": "flip", "axes": [2]})")}, 2), Error);
  EXPECT_NO_THROW(augment::validate({spec(R"({"type": "flip", "axes": [2]})")}, 3));
}

TEST(Augment, JsonRoundTrip) {
  for (const auto& t : every_kind(0.25)) {
    const TransformSpec back = augment::transform_from_json(augment::to_json(t));
    EXPECT_EQ(augment::to_json(back), augment::to_json(t));
  }
}

}  // namespace

// "corrupt": one corruption of a robustness check per sample that fires, on the 8-bit picture.
TEST(Augment, CorruptDrawsARobustnessCorruptionPerSample) {
  using mednet::augment::TransformSpec;
  const TransformSpec t = mednet::augment::transform_from_json(
      nlohmann::json{{"type", "corrupt"}, {"p", 1.0}, {"set", "retinamnist"}, {"severity", 3}});
  EXPECT_EQ(mednet::augment::to_json(t)["set"], "retinamnist");
  EXPECT_EQ(mednet::augment::to_json(t)["severity"], 3);
  torch::manual_seed(2);
  const at::Tensor batch = torch::randint(0, 256, {12, 3, 28, 28}).to(torch::kFloat) / 255.0;
  const at::Tensor a = mednet::augment::apply({t}, batch, 7), b = mednet::augment::apply({t}, batch, 7);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, mednet::augment::apply({t}, batch, 8)));
  EXPECT_TRUE(torch::allclose(a * 255, (a * 255).round(), 0, 1e-3));  // 8-bit pictures
  int changed = 0;
  for (int64_t i = 0; i < 12; ++i) changed += !torch::equal(a[i], batch[i]);
  EXPECT_GE(changed, 10);
  TransformSpec never = t;
  never.p = 0;
  EXPECT_TRUE(torch::equal(mednet::augment::apply({never}, batch, 7), batch));
  // volumes take the CT/MRI artifacts
  const TransformSpec v =
      mednet::augment::transform_from_json(nlohmann::json{{"type", "corrupt"}, {"p", 1.0}});
  const at::Tensor vol = torch::rand({2, 1, 10, 10, 10});
  EXPECT_EQ(mednet::augment::apply({v}, vol, 1).sizes(), vol.sizes());
  EXPECT_THROW(mednet::augment::validate({v}, 2), mednet::Error);  // a 2D picture needs a MedMNIST-C set
  EXPECT_THROW(mednet::augment::validate({t}, 3), mednet::Error);  // a volume has no MedMNIST-C set
  EXPECT_THROW(mednet::augment::transform_from_json(nlohmann::json{{"type", "corrupt"}, {"severity", 0}}),
               mednet::Error);
  TransformSpec unknown = t;
  unknown.set = "nosuchmnist";
  EXPECT_THROW(mednet::augment::validate({unknown}, 2), mednet::Error);
}
