#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/catalog.h"
#include "mednet/models/registry.h"
#include "mednet/models/resnet.h"

using namespace mednet::models;

namespace {

TEST(ResNet, ParameterCountsMatchTorchvision) {
  // torchvision.models.resnet18() / resnet50(): 3 channels, 1000 classes, standard stem
  EXPECT_EQ(count_parameters(*ResNet(resnet_options(18, 1000))), 11689512);
  EXPECT_EQ(count_parameters(*ResNet(resnet_options(50, 1000))), 25557032);
  EXPECT_EQ(count_parameters(*ResNet(resnet_options(34, 1000))), 21797672);
}

TEST(ResNet, TorchvisionParameterNames) {
  ResNet net(resnet_options(18, 10));
  const auto params = net->named_parameters();
  for (const char* key : {"conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer1.1.bn2.bias",
                          "layer2.0.downsample.0.weight", "layer2.0.downsample.1.weight",
                          "layer4.1.conv2.weight", "fc.weight", "fc.bias"}) {
    EXPECT_NE(params.find(key), nullptr) << key;
  }
  EXPECT_EQ(params["conv1.weight"].sizes(), (std::vector<int64_t>{64, 3, 7, 7}));
}

TEST(ResNet, PlainTwinHasNoShortcuts) {
  ResNet res(resnet_options(18, 5).small_stem(true));
  ResNet plain(resnet_options(18, 5).small_stem(true).skip(false));
  int64_t downsample = 0;
  for (const auto& p : res->named_parameters())
    if (p.key().find("downsample") != std::string::npos) downsample += p.value().numel();
  for (const auto& p : plain->named_parameters()) EXPECT_EQ(p.key().find("downsample"), std::string::npos);
  EXPECT_GT(downsample, 0);
  EXPECT_EQ(count_parameters(*plain), count_parameters(*res) - downsample);
  EXPECT_EQ(plain->kind(), "plain");
  EXPECT_EQ(res->kind(), "resnet");
  // different functions: the shortcut changes the output for the same weights
  torch::manual_seed(0);
  at::Tensor x = torch::randn({2, 3, 28, 28});
  res->eval();
  plain->eval();
  torch::NoGradGuard ng;
  auto rp = res->named_parameters();
  for (auto& p : plain->named_parameters()) p.value().copy_(rp[p.key()]);
  EXPECT_FALSE(torch::allclose(res->forward(x), plain->forward(x)));
}

struct ResnetShapeCase {
  std::string model;
  int dims;
  int size;
  std::string flag;  // catalog dataset: channels and outputs
  std::string stem;
  int64_t fmap_channels, fmap_size;
};

void PrintTo(const ResnetShapeCase& c, std::ostream* os) {
  *os << c.model << " " << c.dims << "D " << c.size << " " << c.flag << " stem " << c.stem;
}

class RegistryShapes : public ::testing::TestWithParam<ResnetShapeCase> {};

TEST_P(RegistryShapes, LogitsAndFeatureMap) {
  const auto& c = GetParam();
  const auto& info = mednet::data::find_dataset(c.flag);
  ModelSpec spec;
  spec.name = c.model;
  spec.stem = c.stem;
  // narrow stages keep the 3D cases fast; channel counts scale with them
  if (c.model != "cnn" && c.dims == 3) spec.widths = {8, 16, 32, 64};
  Classifier net = make_model(spec, mednet::data::input_shape(info, c.size));
  net->eval();
  std::vector<int64_t> shape{2, info.channels};
  for (int i = 0; i < c.dims; ++i) shape.push_back(c.size);
  torch::NoGradGuard ng;
  at::Tensor x = torch::randn(shape);
  at::Tensor y = net->forward(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, info.num_outputs()}));
  auto [fmap, logits] = net->forward_features(x);
  EXPECT_TRUE(torch::allclose(logits, y));
  EXPECT_EQ(fmap.dim(), c.dims + 2);
  EXPECT_EQ(fmap.size(1), c.fmap_channels);
  EXPECT_EQ(fmap.size(2), c.fmap_size);
}

INSTANTIATE_TEST_SUITE_P(Table, RegistryShapes,
                         ::testing::Values(
                             // 28 px: the small stem keeps 28 -> 28, 14, 7, 4 through the four stages
                             ResnetShapeCase{"resnet18", 2, 28, "retinamnist", "auto", 512, 4},
                             ResnetShapeCase{"plain18", 2, 28, "retinamnist", "auto", 512, 4},
                             ResnetShapeCase{"resnet50", 2, 28, "chestmnist", "auto", 2048, 4},
                             ResnetShapeCase{"resnet18", 2, 28, "pathmnist", "standard", 512, 1},
                             // 64 px, standard stem: 64 -> 32 -> 16 -> 16, 8, 4, 2
                             ResnetShapeCase{"resnet18", 2, 64, "chestmnist", "auto", 512, 2},
                             ResnetShapeCase{"resnet18", 3, 28, "adrenalmnist3d", "auto", 64, 4},
                             ResnetShapeCase{"plain18", 3, 28, "nodulemnist3d", "auto", 64, 4},
                             ResnetShapeCase{"resnet50", 3, 28, "organmnist3d", "standard", 256, 1},
                             ResnetShapeCase{"cnn", 2, 28, "retinamnist", "auto", 128, 7},
                             ResnetShapeCase{"cnn", 3, 28, "adrenalmnist3d", "auto", 128, 7}),
                         [](const auto& info) {
                           return info.param.model + "_" + std::to_string(info.param.dims) + "d_" +
                                  std::to_string(info.param.size) + "_" + info.param.flag + "_" +
                                  info.param.stem;
                         });

TEST(Registry, UnknownModelAndBadSpecsAreUsageErrors) {
  const auto& info = mednet::data::find_dataset("retinamnist");
  ModelSpec s;
  s.name = "resnet19";
  try {
    make_model(s, mednet::data::input_shape(info, 28));
    FAIL() << "resnet19 accepted";
  } catch (const mednet::Error& e) {
    EXPECT_EQ(e.kind(), mednet::ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("resnet18"), std::string::npos);
  }
  s.name = "resnet18";
  s.widths = {8, 16};
  EXPECT_THROW(make_model(s, mednet::data::input_shape(info, 28)), mednet::Error);
  s.widths = {};
  s.stem = "huge";
  EXPECT_THROW(make_model(s, mednet::data::input_shape(info, 28)), mednet::Error);
}

}  // namespace
