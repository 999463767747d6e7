#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/catalog.h"
#include "mednet/models/registry.h"
#include "mednet/models/vgg.h"
#include "mednet/models/weights.h"
#include "support/fixtures.h"

using namespace mednet::models;
namespace fs = std::filesystem;

namespace {

int64_t numel_of(const torch::nn::Module& m, const std::string& prefix) {
  int64_t n = 0;
  for (const auto& p : m.named_parameters())
    if (p.key().rfind(prefix, 0) == 0) n += p.value().numel();
  return n;
}

TEST(Vgg16, FeaturesHaveTorchvisionNamesAndSizes) {
  Vgg net(VggOptions(5));
  // torchvision.models.vgg16().features: 14,714,688 parameters in 13 convolutions.
  EXPECT_EQ(numel_of(*net, "features."), 14714688);
  const auto params = net->named_parameters();
  int convs = 0;
  for (const auto& p : params)
    if (p.key().rfind("features.", 0) == 0 && p.value().dim() == 4) ++convs;
  EXPECT_EQ(convs, 13);
  EXPECT_EQ(params["features.0.weight"].sizes(), (std::vector<int64_t>{64, 3, 3, 3}));
  EXPECT_EQ(params["features.28.weight"].sizes(), (std::vector<int64_t>{512, 512, 3, 3}));
  EXPECT_EQ(params.find("features.30.weight"), nullptr);
  // The study's head: 512 -> 256 -> 5.
  EXPECT_EQ(params["head.0.weight"].sizes(), (std::vector<int64_t>{256, 512}));
  EXPECT_EQ(params["head.3.weight"].sizes(), (std::vector<int64_t>{5, 256}));
}

TEST(Vgg16, BlocksNumberTheConvolutionsByPoolingStage) {
  Vgg net(VggOptions(2));
  EXPECT_EQ(net->block_of("features.0.weight"), 1);
  EXPECT_EQ(net->block_of("features.2.bias"), 1);
  EXPECT_EQ(net->block_of("features.5.weight"), 2);
  EXPECT_EQ(net->block_of("features.14.weight"), 3);
  EXPECT_EQ(net->block_of("features.17.weight"), 4);
  EXPECT_EQ(net->block_of("features.28.weight"), 5);
  EXPECT_EQ(net->block_of("head.0.weight"), 0);
  EXPECT_EQ(net->block_count(), 5);
}

TEST(Vgg16, GrayscaleIsRepeatedAndResized) {
  torch::manual_seed(0);
  Vgg net(VggOptions(3).in_channels(1).input_size(32));
  net->eval();
  const at::Tensor x = torch::rand({2, 1, 28, 28}) * 2 - 1;
  const at::Tensor p = net->prepare(x);
  EXPECT_EQ(p.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(p.select(1, 0), p.select(1, 2)));
  torch::NoGradGuard ng;
  const at::Tensor logits = net->forward(x);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(torch::allclose(net->classify(net->embed(x)), logits));
  const auto [fmap, out] = net->forward_at(x, "block5");
  EXPECT_EQ(fmap.sizes(), (std::vector<int64_t>{2, 512, 2, 2}));
  EXPECT_EQ(net->forward_at(x, "block1").first.sizes(), (std::vector<int64_t>{2, 64, 32, 32}));
  EXPECT_TRUE(torch::allclose(out, logits, 1e-5, 1e-6));
}

TEST(Vgg16, ImagenetNormalisationMapsTheInputRange) {
  Vgg net(VggOptions(2).imagenet_norm(true).input_size(32));
  const at::Tensor p = net->prepare(torch::full({1, 3, 32, 32}, -1.0));  // black in [-1, 1]
  EXPECT_NEAR(p[0][0][0][0].item<double>(), -0.485 / 0.229, 1e-5);
  EXPECT_NEAR(p[0][2][5][5].item<double>(), -0.406 / 0.225, 1e-5);
  const at::Tensor w = net->prepare(torch::ones({1, 3, 32, 32}));  // white
  EXPECT_NEAR(w[0][1][0][0].item<double>(), (1 - 0.456) / 0.224, 1e-5);
}

TEST(Vgg16, RegistryBuildsItFor2dOnly) {
  ModelSpec spec;
  spec.name = "vgg16";
  spec.input_size = 32;
  Classifier m = make_model(spec, mednet::data::input_shape(mednet::data::find_dataset("retinamnist"), 28));
  EXPECT_EQ(m->kind(), "vgg16");
  EXPECT_THROW(make_model(spec, mednet::data::input_shape(mednet::data::find_dataset("adrenalmnist3d"), 28)),
               mednet::Error);
  spec.input_size = 16;
  EXPECT_THROW(validate(spec), mednet::Error);
}

// --- weight files -----------------------------------------------------------------------------
}  // namespace
