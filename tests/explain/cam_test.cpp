#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/catalog.h"
#include "mednet/data/dataset.h"
#include "mednet/explain/attribution.h"
#include "mednet/explain/faithfulness.h"
#include "mednet/explain/methods.h"
#include "mednet/models/cnn.h"
#include "mednet/models/registry.h"

using namespace mednet;

namespace {

// A network small enough to work out by hand: A = relu(1x1 conv(x) + b) with weights (1, -1), then
// global average pooling and a dense layer V without bias. For class k, dS/dA_c = V[k][c] / (number of
// positions) everywhere, so Grad-CAM's channel weights are V[k][c] / positions.
class TinyImpl : public models::ClassifierImpl {
 public:
  TinyImpl(int dims, double bias) : dims_(dims) {
    if (dims == 2) {
      conv2_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 1)));
    } else {
      conv3_ = register_module("conv", torch::nn::Conv3d(torch::nn::Conv3dOptions(1, 2, 1)));
    }
    fc_ = register_module("fc", torch::nn::Linear(torch::nn::LinearOptions(2, 2).bias(false)));
    torch::NoGradGuard ng;
    at::Tensor w = dims == 2 ? conv2_->weight : conv3_->weight;
    at::Tensor b = dims == 2 ? conv2_->bias : conv3_->bias;
    w.view({2}).copy_(torch::tensor({1.0f, -1.0f}));
    b.fill_(bias);
    fc_->weight.copy_(torch::tensor({{1.0f, 2.0f}, {-1.0f, 0.5f}}));
  }
  at::Tensor forward(const at::Tensor& x) override { return forward_at(x, "feat").second; }
  std::vector<std::string> feature_layers() const override { return {"feat"}; }
  std::pair<at::Tensor, at::Tensor> forward_at(const at::Tensor& x, const std::string& layer) override {
    layer_index(layer);
    at::Tensor a = torch::relu(dims_ == 2 ? conv2_->forward(x) : conv3_->forward(x));
    std::vector<int64_t> sp;
    for (int64_t k = 2; k < a.dim(); ++k) sp.push_back(k);
    return {a, fc_->forward(a.mean(sp))};
  }
  std::string kind() const override { return "tiny"; }
  std::string head_prefix() const override { return "fc."; }
  int block_count() const override { return 1; }
  int block_of(const std::string& param) const override { return param.rfind("fc.", 0) == 0 ? 0 : 1; }

 private:
  int dims_;
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::Conv3d conv3_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

at::Tensor hand_input(int dims) {
  at::Tensor x = torch::tensor({{1.0f, -2.0f}, {3.0f, 0.0f}});
  return dims == 2 ? x.view({1, 1, 2, 2}) : x.view({1, 1, 1, 2, 2});
}

TEST(GradCam, MatchesTheHandWorkedReferenceIn2DAnd3D) {
  // A0 = relu(x) = [[1, 0], [3, 0]], A1 = relu(-x) = [[0, 2], [0, 0]]; logits (2, -0.75): class 0.
  for (int dims : {2, 3}) {
    TinyImpl net(dims, 0.0);
    explain::GradCam cam(net, "");
    const explain::CamResult r = cam.compute(hand_input(dims));
    EXPECT_EQ(r.target.item<int64_t>(), 0);
    EXPECT_NEAR(r.score.item<float>(), 2.0f, 1e-6);
    // weights (1/4, 2/4): relu(A0/4 + A1/2) = [[0.25, 1], [0.75, 0]], already in [0, 1]
    const at::Tensor expect = torch::tensor({{0.25f, 1.0f}, {0.75f, 0.0f}});
    EXPECT_TRUE(torch::allclose(r.coarse.reshape({2, 2}), expect, 0, 1e-5)) << r.coarse;
    EXPECT_TRUE(torch::allclose(r.maps.reshape({2, 2}), expect, 0, 1e-5)) << r.maps;
    // class 1: weights (-1/4, 1/8): relu(-A0/4 + A1/8) = [[0, 0.25], [0, 0]] -> normalised [[0, 1], [0, 0]]
    const explain::CamResult r1 = cam.compute(hand_input(dims), torch::tensor({1}));
    EXPECT_TRUE(
        torch::allclose(r1.coarse.reshape({2, 2}), torch::tensor({{0.0f, 0.25f}, {0.0f, 0.0f}}), 0, 1e-5));
    EXPECT_TRUE(
        torch::allclose(r1.maps.reshape({2, 2}), torch::tensor({{0.0f, 1.0f}, {0.0f, 0.0f}}), 0, 1e-5));
  }
}

TEST(GradCamPlusPlus, MatchesTheHandWorkedReference) {
  // g = (1/4, 1/2) everywhere, sum A = (4, 2): alpha_c = g^2 / (2 g^2 + sum(A) g^3) = 1/3 for both,
  // weights = 4 positions * alpha * g = (1/3, 2/3): relu(A0/3 + 2 A1/3) = [[1/3, 4/3], [1, 0]].
  TinyImpl net(2, 0.0);
  explain::GradCamPlusPlus cam(net, "feat");
  const explain::CamResult r = cam.compute(hand_input(2));
  EXPECT_TRUE(
      torch::allclose(r.coarse.reshape({2, 2}), torch::tensor({{1.0f / 3, 4.0f / 3}, {1.0f, 0.0f}}), 0, 1e-5))
      << r.coarse;
  EXPECT_TRUE(
      torch::allclose(r.maps.reshape({2, 2}), torch::tensor({{0.25f, 1.0f}, {0.75f, 0.0f}}), 0, 1e-5));
}

struct CamShape {
  std::string model, flag;
  std::vector<int64_t> widths;
  std::string layer;  ///< empty: the last stage (VGG16's block1 keeps Score-CAM to 64 channels)
};

class CamShapes : public ::testing::TestWithParam<CamShape> {};

TEST_P(CamShapes, MapsHaveTheInputSizeAndStayInRange) {
  const auto& c = GetParam();
  const auto& info = data::find_dataset(c.flag);
  models::ModelSpec spec;
  spec.name = c.model;
  spec.widths = c.widths;
  models::Classifier net = models::make_model(spec, mednet::data::input_shape(info, 28));
  const int64_t n = c.model == "vgg16" ? 1 : 3;  // VGG16's many-pass methods take long on a CPU
  std::vector<int64_t> shape{n, info.channels};
  for (int i = 0; i < info.spatial_dims(); ++i) shape.push_back(28);
  torch::manual_seed(1);
  explain::AttributionOptions o;
  o.smoothgrad_samples = 4;
  o.ig_steps = 4;
  o.occlusion_patch = 14;
  o.occlusion_stride = 14;
  for (const auto& m : explain::cam_methods()) {
    const std::string method = m.name;
    auto cam = explain::make_cam(method, *net, c.layer, o);
    int64_t last = 0, total = 0;
    cam->on_progress([&](int64_t done, int64_t all) {
      EXPECT_GT(done, last) << method;
      last = done;
      total = all;
    });
    for (const at::Tensor& x : {torch::randn(shape), torch::zeros(shape)}) {  // random and constant input
      last = 0;
      const explain::CamResult r = cam->compute(x);
      std::vector<int64_t> expect{n};
      for (int i = 0; i < info.spatial_dims(); ++i) expect.push_back(28);
      EXPECT_EQ(r.maps.sizes(), expect) << method;
      EXPECT_FALSE(torch::isnan(r.maps).any().item<bool>()) << method;
      EXPECT_GE(r.maps.min().item<float>(), 0.0f) << method;
      EXPECT_LE(r.maps.max().item<float>(), 1.0f) << method;
      EXPECT_EQ(r.probs.sizes(), (std::vector<int64_t>{n, info.num_outputs()})) << method;
      EXPECT_EQ(last, total) << method << ": the progress count ends at its total";
    }
    // A many-pass method reports its forward passes; the one-pass methods report none.
    const bool many = method == "scorecam" || method == "ablationcam" || m.family != std::string("cam");
    EXPECT_EQ(total > 0, many) << method;
  }
  // Every model resumes at each of its layers as it would have gone on.
  net->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn(shape);
  const at::Tensor logits = net->forward(x);
  for (const auto& layer : net->feature_layers()) {
    const at::Tensor resumed = net->forward_from(net->forward_at(x, layer).first, layer);
    EXPECT_TRUE(torch::allclose(resumed, logits, 1e-5, 1e-5)) << layer;
  }
}

TEST(Cam, EigenCamOnALayerWithOneChannelIsAUsageError) {
  models::Cnn net(models::CnnOptions(2).widths({4, 1}));
  try {
    explain::make_cam("eigencam", *net, "")->compute(torch::randn({2, 1, 28, 28}));
    FAIL() << "EigenCAM ran on one channel";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("--method eigencam: layer stage2 has 1 channel"), std::string::npos)
        << e.what();
  }
}

TEST(Cam, OcclusionWindowsCoverEveryPositionAndBadPatchesAreFlagErrors) {
  EXPECT_EQ(explain::window_starts(28, 7, 3), (std::vector<int64_t>{0, 3, 6, 9, 12, 15, 18, 21}));
  EXPECT_EQ(explain::window_starts(28, 8, 8), (std::vector<int64_t>{0, 8, 16, 20}));
  EXPECT_EQ(explain::window_starts(28, 28, 5), (std::vector<int64_t>{0}));
  models::Cnn net(models::CnnOptions(2).widths({4, 8}));
  explain::AttributionOptions o;
  o.occlusion_patch = 29;
  try {
    explain::make_cam("occlusion", *net, "", o)->compute(torch::randn({1, 1, 28, 28}));
    FAIL() << "a patch larger than the image was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("--occlusion-patch 29"), std::string::npos) << e.what();
  }
}

TEST(Cam, IntegratedGradientsAddUpToTheScoreDifference) {
  // Completeness (Sundararajan et al.): the attributions sum to f(x) - f(x'), up to the path's
  // discretisation.
  torch::manual_seed(3);
  models::Cnn net(models::CnnOptions(3).widths({4, 8}));
  net->eval();
  const at::Tensor x = torch::randn({2, 1, 28, 28});
  explain::AttributionOptions o;
  o.ig_steps = 256;
  struct Probe : explain::IntegratedGradients {
    using IntegratedGradients::IntegratedGradients;
    using IntegratedGradients::sample_map;
    using IntegratedGradients::set_options;
  };
  Probe probe(*net, explain::IntegratedGradients::Baseline::Black);
  probe.set_options(o);
  torch::NoGradGuard no_grad;
  const at::Tensor base = data::unit_to_network_input(torch::zeros({1})).expand_as(x[0]).unsqueeze(0);
  for (int64_t i = 0; i < 2; ++i) {
    const at::Tensor attribution = [&] {
      torch::AutoGradMode on(true);
      return probe.sample_map(x[i], 1);
    }();
    const double want =
        net->forward(x[i].unsqueeze(0))[0][1].item<double>() - net->forward(base)[0][1].item<double>();
    EXPECT_NEAR(attribution.sum().item<double>(), want, 2e-3 * std::max(1.0, std::abs(want))) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, CamShapes,
                         ::testing::Values(CamShape{"cnn", "retinamnist", {8, 16, 32}},
                                           CamShape{"cnn", "adrenalmnist3d", {4, 8, 8}},
                                           CamShape{"resnet18", "chestmnist", {4, 8, 8, 8}},
                                           CamShape{"plain18", "bloodmnist", {4, 8, 8, 8}},
                                           CamShape{"resnet18", "nodulemnist3d", {4, 4, 8, 8}},
                                           CamShape{"vgg16", "pneumoniamnist", {}, "block1"}),
                         [](const auto& i) { return i.param.model + "_" + i.param.flag; });

TEST(Cam, UnknownLayerListsTheValidNames) {
  models::Cnn net(models::CnnOptions(2).widths({4, 8, 8}));
  try {
    explain::GradCam cam(*net, "stage9");
    FAIL() << "accepted stage9";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("stage1, stage2, stage3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(explain::make_cam("lime", *net, ""), Error);
  // an earlier stage works and gives a map of the input size
  explain::GradCam early(*net, "stage1");
  EXPECT_EQ(early.compute(torch::randn({1, 1, 28, 28})).maps.sizes(), (std::vector<int64_t>{1, 28, 28}));
}

TEST(Faithfulness, SpearmanWithAndWithoutTies) {
  EXPECT_NEAR(explain::spearman(torch::tensor({1.0, 2.0, 3.0, 4.0}), torch::tensor({1.0, 2.0, 4.0, 3.0})),
              0.8, 1e-12);
  EXPECT_NEAR(explain::spearman(torch::tensor({1.0, 1.0, 2.0}), torch::tensor({1.0, 2.0, 3.0})),
              std::sqrt(0.75), 1e-12);
  EXPECT_NEAR(explain::spearman(torch::tensor({3.0, 2.0, 1.0}), torch::tensor({1.0, 2.0, 3.0})), -1.0, 1e-12);
  EXPECT_TRUE(std::isnan(explain::spearman(torch::tensor({1.0, 1.0}), torch::tensor({1.0, 2.0}))));
}

TEST(Faithfulness, DeletingTheHighlightedPixelsDropsTheScoreFasterThanRandom) {
  // A bright 2x2 block on black: with bias -1 only the block passes the ReLU, so only it drives class 0.
  TinyImpl net(2, -1.0);
  at::Tensor x = torch::zeros({2, 1, 8, 8});
  x[0].slice(1, 1, 3).slice(2, 1, 3).fill_(5);
  x[1].slice(1, 5, 7).slice(2, 4, 6).fill_(5);
  explain::GradCam cam(net, "");
  const explain::CamResult r = cam.compute(x);
  EXPECT_EQ(r.target[0].item<int64_t>(), 0);
  const auto c = explain::deletion_curve(net, x, r.maps, r.target, {0, 0.0625, 0.125, 0.25, 0.5}, 3);
  ASSERT_EQ(c.by_map.size(), 5u);
  EXPECT_NEAR(c.by_map[0], c.random[0], 1e-9);
  EXPECT_NEAR(c.by_map[1], 0.5, 1e-5);  // the block is gone: both logits 0
  EXPECT_LT(c.area_by_map, c.area_random);
}

TEST(Faithfulness, DeletionUsesTheGivenBaseline) {
  TinyImpl net(2, -1.0);
  at::Tensor x = torch::zeros({1, 1, 8, 8});
  x[0].slice(1, 1, 3).slice(2, 1, 3).fill_(5);
  explain::GradCam cam(net, "");
  const explain::CamResult r = cam.compute(x);
  // Blanking to the image itself changes nothing: both curves stay at the unmasked probability.
  const auto same = explain::deletion_curve(net, x, r.maps, r.target, {0, 0.25, 0.5}, 3, x);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(same.by_map[i], same.by_map[0], 1e-6);
    EXPECT_NEAR(same.random[i], same.by_map[0], 1e-6);
  }
  // The block is the top 1/16 of the map. Blanked to black it is gone (both logits 0: p = 0.5); blanked to
  // its own brightness nothing changes (p = sigmoid(0.5), as unmasked).
  const auto black = explain::deletion_curve(net, x, r.maps, r.target, {0, 0.0625}, 3, torch::zeros({1}));
  EXPECT_NEAR(black.by_map[1], 0.5, 1e-6);
  const auto bright =
      explain::deletion_curve(net, x, r.maps, r.target, {0, 0.0625}, 3, torch::full({1}, 5.0));
  EXPECT_NEAR(bright.by_map[0], 1 / (1 + std::exp(-0.5)), 1e-6);
  EXPECT_NEAR(bright.by_map[1], bright.by_map[0], 1e-6);
}

TEST(Faithfulness, BlurKeepsConstantsAndSpreadsAnImpulse) {
  const at::Tensor c = torch::full({1, 2, 9, 9}, 0.3);
  EXPECT_TRUE(torch::allclose(explain::blurred(c, 5), c, 1e-6, 1e-7));
  at::Tensor v = torch::zeros({1, 1, 9, 9, 9});
  v[0][0][4][4][4] = 1;
  const at::Tensor b = explain::blurred(v, 3);
  EXPECT_EQ(b.sizes(), v.sizes());
  EXPECT_LT(b[0][0][4][4][4].item<double>(), 0.5);
  EXPECT_GT(b[0][0][4][4][5].item<double>(), 0);
  EXPECT_NEAR(b.sum().item<double>(), 1.0, 1e-5);  // away from the border the mass is kept
  EXPECT_THROW(explain::blurred(v, 4), mednet::Error);
}

}  // namespace
